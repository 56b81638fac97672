namespace GanBertBots.Conversation;

/// <summary>
/// /game [easy|hard]: one round of "real or fake?" (see <see cref="GameRounds"/>; guesses are <see cref="GameGuessButton"/>).
/// </summary>
public sealed class GameCommand(GameRounds rounds) : Command("/game", "/game [easy|hard] - real or fake? guess and keep score")
{
    public override CommandMenuEntry Menu { get; } = new("Play: spot the machine-written tweet",
        [new CommandParameter("level", "easy or hard (optional)", MaxLength: 4)]);

    public override Task HandleAsync(CommandContext context, CancellationToken ct) =>
        Level(context.Arguments) is { } level
            ? rounds.DealAsync(context.User, context.Chat, context.Output, ct, level)
            : context.ReplyAsync("Play /game, /game easy or /game hard.", ct);

    /// <summary>"", "easy" or "hard" (any case); null for anything else.</summary>
    public static GameLevel? Level(string? word) => word?.Trim().ToLowerInvariant() switch
    {
        null or "" => GameLevel.Any,
        "easy" => GameLevel.Easy,
        "hard" => GameLevel.Hard,
        _ => null,
    };
}
