using GanBertBots.Storage;

namespace GanBertBots.Conversation;

/// <summary>"🤖 Obviously fake" under a tweet: stored as a label of our generator's class.</summary>
public sealed class ObviouslyFakeButton(ILabelStore store, Labels labels) : IButton
{
    public ButtonKind Kind => ButtonKind.ObviouslyFake;
    public bool ModeratorOnly => false;

    public async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await store.AddLabelAsync(context.Label(labels.Generator, LabelSource.UserFeedback), ct);
        await context.AcknowledgeAsync("Thanks, noted!", ct);
    }
}
