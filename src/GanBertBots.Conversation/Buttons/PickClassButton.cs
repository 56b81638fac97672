namespace GanBertBots.Conversation;

/// <summary>A class picked after "❌ Wrong": stored as the person's label.</summary>
public sealed class PickClassButton(ClassChoices classes) : Button(ButtonKind.PickClass)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        if (await classes.LabelAsync(context, LabelSource.UserFeedback, "That class is not known.", ct) is not { } label) return;
        await context.AcknowledgeAsync($"Thanks, noted: {label}.", ct);
        await context.EditPressedMessageAsync($"Thanks! Labelled {label} by {context.User.DisplayName}.", ct);
    }
}
