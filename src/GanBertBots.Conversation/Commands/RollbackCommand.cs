namespace GanBertBots.Conversation;

/// <summary>/rollback (moderators): goes back to the previously served version.</summary>
public sealed class RollbackCommand(IModelOperations operations) : Command("/rollback", "/rollback - serve the previous model again", moderatorOnly: true)
{
    public override CommandMenuEntry Menu { get; } = new("Serve the previous model version again", [], AnswersPrivately: true, OperatesModels: true);

    public override async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        await context.Output.ShowTypingAsync(ct);
        await context.ReplyAsync(await operations.RollbackAsync(context.User, ct), ct);
    }
}
