namespace GanBertBots.Conversation;

/// <summary>/review (moderators): the next text to label; the labels are <see cref="ReviewLabelButton"/> and <see cref="ReviewSkipButton"/>.</summary>
public sealed class ReviewCommand(ReviewQueue queue) : Command("/review", "/review - label the next unlabelled text", moderatorOnly: true)
{
    public override Task HandleAsync(CommandContext context, CancellationToken ct) => queue.ShowNextAsync(context.User, context.Chat, context.Output, ct);
}
