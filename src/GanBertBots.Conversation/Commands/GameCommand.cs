namespace GanBertBots.Conversation;

/// <summary>/game: one round of "real or fake?" (see <see cref="GameRounds"/>; guesses are <see cref="GameGuessButton"/>).</summary>
public sealed class GameCommand(GameRounds rounds) : Command("/game", "/game - real or fake? guess and keep score")
{
    public override Task HandleAsync(CommandContext context, CancellationToken ct) => rounds.DealAsync(context.User, context.Chat, context.Output, ct);
}
