namespace GanBertBots.Conversation;

/// <summary>"🤖 Obviously fake" under a tweet: stored as a label of our generator's class.</summary>
public sealed class ObviouslyFakeButton(ILabelStore store, Labels labels) : Button(ButtonKind.ObviouslyFake)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await store.AddLabelAsync(context.Label(labels.Generator, LabelSource.UserFeedback), ct);
        await context.AcknowledgeAsync("Thanks, noted!", ct);
    }
}
