using GanBertBots.Storage;

namespace GanBertBots.Conversation;

/// <summary>A class picked after "❌ Wrong": stored as the person's label.</summary>
public sealed class PickClassButton(ILabelStore store, ClassChoices classes) : IButton
{
    public ButtonKind Kind => ButtonKind.PickClass;
    public bool ModeratorOnly => false;

    public async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        string? label = context.Action.Arg;
        if (!classes.Contains(label)) { await context.AcknowledgeAsync("That class is not known.", ct); return; }
        await store.AddLabelAsync(context.Label(label!, LabelSource.UserFeedback), ct);
        await context.AcknowledgeAsync($"Thanks, noted: {label}.", ct);
        await context.EditPressedMessageAsync($"Thanks! Labelled {label} by {context.User.DisplayName}.", ct);
    }
}
