namespace GanBertBots.Conversation;

/// <summary>"▶ Next round" in /game.</summary>
public sealed class GameNextButton(GameRounds rounds) : Button(ButtonKind.GameNext)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await context.AcknowledgeAsync(null, ct);
        await rounds.DealAsync(context.User, context.Chat, context.Output, ct, GameCommand.Level(context.Action.Arg) ?? GameLevel.Any);
    }
}
