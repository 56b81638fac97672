using GanBertBots.Storage;

namespace GanBertBots.Conversation;

/// <summary>"✅ Right" under a verdict: the predicted class (carried in the payload) stored as the person's label.</summary>
public sealed class VerdictRightButton(ILabelStore store, ClassChoices classes) : IButton
{
    public ButtonKind Kind => ButtonKind.VerdictRight;
    public bool ModeratorOnly => false;

    public async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        if (!classes.Contains(context.Action.Arg)) { await context.AcknowledgeAsync(ButtonCheck.NotValid, ct); return; }
        await store.AddLabelAsync(context.Label(context.Action.Arg!, LabelSource.UserFeedback), ct);
        await context.AcknowledgeAsync("Thanks, noted!", ct);
    }
}
