namespace GanBertBots.Conversation;

/// <summary>A class pressed in /review (moderators): the moderator's label, then the next text.</summary>
public sealed class ReviewLabelButton(ClassChoices classes, ReviewQueue queue) : Button(ButtonKind.ReviewLabel, moderatorOnly: true)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        if (await classes.LabelAsync(context, LabelSource.Moderator, "That class is not known.", ct) is not { } label) return;
        await context.AcknowledgeAsync($"Labelled #{context.Text.Id}: {label}", ct);
        await context.EditPressedMessageAsync($"#{context.Text.Id} labelled {label} by {context.User.DisplayName}.\n\n{ChatText.Clip(context.Text.Content, 500)}", ct);
        await queue.ShowNextAsync(context.User, context.Chat, context.Output, ct);
    }
}
