namespace GanBertBots.Conversation;

/// <summary>"⏭ Skip" in /review (moderators): not shown to this moderator again; the next text.</summary>
public sealed class ReviewSkipButton(ILabelStore store, ReviewQueue queue) : Button(ButtonKind.ReviewSkip, moderatorOnly: true)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await store.SkipForReviewAsync(context.User.Key, context.Text.Id, ct);
        await context.AcknowledgeAsync("Skipped.", ct);
        await context.EditPressedMessageAsync($"#{context.Text.Id} skipped.", ct);
        await queue.ShowNextAsync(context.User, context.Chat, context.Output, ct);
    }
}
