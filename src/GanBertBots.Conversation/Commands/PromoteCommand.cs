namespace GanBertBots.Conversation;

/// <summary>/promote [version] (moderators): serves a candidate version (the latest when none is named).</summary>
public sealed class PromoteCommand(IModelOperations operations) : Command("/promote", "/promote [version] - serve a candidate model", moderatorOnly: true)
{
    public override CommandMenuEntry Menu { get; } = new("Serve a candidate model version (the latest when none is named)",
        [new CommandParameter("version", "Model version to promote (optional)", MaxLength: 64)], AnswersPrivately: true, OperatesModels: true);

    public override async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        await context.Output.ShowTypingAsync(ct);
        await context.ReplyAsync(await operations.PromoteAsync(context.User, context.Arguments.Length == 0 ? null : context.Arguments, ct), ct);
    }
}
