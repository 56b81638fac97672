namespace GanBertBots.Conversation;

/// <summary>/retrain (moderators): starts a retraining round now.</summary>
public sealed class RetrainCommand(IModelOperations operations) : Command("/retrain", "/retrain - start a retraining round now", moderatorOnly: true)
{
    public override CommandMenuEntry Menu { get; } = new("Start a retraining round now", [], AnswersPrivately: true, OperatesModels: true);

    public override async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        await context.Output.ShowTypingAsync(ct);
        await context.ReplyAsync(await operations.RetrainAsync(context.User, ct), ct);
    }
}
