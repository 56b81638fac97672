namespace GanBertBots.Conversation;

/// <summary>/game: one round of "real or fake?" (see <see cref="GameRounds"/>; guesses are <see cref="GameGuessButton"/>).</summary>
public sealed class GameCommand(GameRounds rounds) : ICommand
{
    public string Name => "/game";
    public string? Help => "/game - real or fake? guess and keep score";
    public bool ModeratorOnly => false;

    public Task HandleAsync(CommandContext context, CancellationToken ct) => rounds.DealAsync(context.User, context.Chat, context.Output, ct);
}
