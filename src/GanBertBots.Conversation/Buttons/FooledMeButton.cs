namespace GanBertBots.Conversation;

/// <summary>"😮 Fooled me" under a tweet: the person took it for a person's, stored as a human label.</summary>
public sealed class FooledMeButton(ILabelStore store, Labels labels) : Button(ButtonKind.FooledMe)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await store.AddLabelAsync(context.Label(labels.Human, LabelSource.UserFeedback), ct);
        await context.AcknowledgeAsync("Thanks, noted!", ct);
    }
}
