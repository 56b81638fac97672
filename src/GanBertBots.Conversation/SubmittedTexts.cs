namespace GanBertBots.Conversation;

/// <summary>
/// A text someone sent to be judged (/detect, pasted text, a file's paragraph): kept first, then judged, and the
/// verdict kept with it when the detector gave one.
/// </summary>
public sealed class SubmittedTexts(IInferenceService inference, ILabelStore store)
{
    public async Task<(long TextId, Verdict Verdict)> KeepAndJudgeAsync(string text, CommandContext context, CancellationToken ct)
    {
        long id = (await store.AddTextAsync(new NewText(text, TextOrigin.UserSubmitted)
        {
            SubmittedBy = context.User.Key,
            Message = new MessageRef(context.Chat.Platform, context.Chat.ChatId, context.Message.MessageId),
        }, ct)).TextId;
        var verdict = await inference.DetectAsync(text, ct);
        if (verdict.IsCompleted)
            await store.AddPredictionAsync(new NewPrediction(id, verdict.ModelVersion, verdict.Label,
                verdict.Probabilities.ToDictionary(p => p.Label, p => p.Probability)), ct);
        return (id, verdict);
    }
}
