namespace GanBertBots.Conversation;

/// <summary>/rollback (moderators): goes back to the previously served version.</summary>
public sealed class RollbackCommand(IModelOperations operations) : ICommand
{
    public string Name => "/rollback";
    public string? Help => "/rollback - serve the previous model again";
    public bool ModeratorOnly => true;

    public async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        await context.Output.ShowTypingAsync(ct);
        await context.ReplyAsync(await operations.RollbackAsync(context.User, ct), ct);
    }
}
