using GanBertBots.Storage;

namespace GanBertBots.Conversation;

/// <summary>A class pressed in /review (moderators): the moderator's label, then the next text.</summary>
public sealed class ReviewLabelButton(ILabelStore store, ClassChoices classes, ReviewQueue queue) : IButton
{
    public ButtonKind Kind => ButtonKind.ReviewLabel;
    public bool ModeratorOnly => true;

    public async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        string? label = context.Action.Arg;
        if (!classes.Contains(label)) { await context.AcknowledgeAsync("That class is not known.", ct); return; }
        await store.AddLabelAsync(context.Label(label!, LabelSource.Moderator), ct);
        await context.AcknowledgeAsync($"Labelled #{context.Text.Id}: {label}", ct);
        await context.EditPressedMessageAsync($"#{context.Text.Id} labelled {label} by {context.User.DisplayName}.\n\n{ChatText.Clip(context.Text.Content, 500)}", ct);
        await queue.ShowNextAsync(context.User, context.Chat, context.Output, ct);
    }
}
