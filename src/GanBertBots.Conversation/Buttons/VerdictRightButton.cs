namespace GanBertBots.Conversation;

/// <summary>"✅ Right" under a verdict: the predicted class (carried in the payload) stored as the person's label.</summary>
public sealed class VerdictRightButton(ClassChoices classes) : Button(ButtonKind.VerdictRight)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        if (await classes.LabelAsync(context, LabelSource.UserFeedback, ButtonCheck.NotValid, ct) is not null)
            await context.AcknowledgeAsync("Thanks, noted!", ct);
    }
}
