namespace GanBertBots.Conversation;

/// <summary>/retrain (moderators): starts a retraining round now.</summary>
public sealed class RetrainCommand(IModelOperations operations) : ICommand
{
    public string Name => "/retrain";
    public string? Help => "/retrain - start a retraining round now";
    public bool ModeratorOnly => true;

    public async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        await context.Output.ShowTypingAsync(ct);
        await context.ReplyAsync(await operations.RetrainAsync(context.User, ct), ct);
    }
}
