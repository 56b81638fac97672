using System.Text;

namespace GanBertBots.Conversation;

/// <summary>/stats: texts and labels kept, the served models, the last evaluation and the person's game score.</summary>
public sealed class StatsCommand(IInferenceService inference, ILabelStore store, IModelOperations operations) : Command("/stats", "/stats - labels collected, model versions")
{
    public override async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        var stats = await store.GetStatsAsync(ct);
        var score = await store.GetGameScoreAsync(context.User.Key, ct);
        string? evaluation = await operations.LastEvaluationAsync(ct);
        long Texts(TextOrigin o) => stats.TextsByOrigin.TryGetValue(o, out var n) ? n : 0;
        var sb = new StringBuilder();
        sb.AppendLine($"Texts kept: {stats.TotalTexts} ({Texts(TextOrigin.UserSubmitted)} from users, {Texts(TextOrigin.Generated)} generated, {Texts(TextOrigin.Corpus)} corpus)");
        sb.AppendLine($"Labels: {stats.LabelsFrom(LabelSource.Moderator)} by moderators, {stats.LabelsFrom(LabelSource.UserFeedback)} feedback, " +
                      $"{stats.LabelsFrom(LabelSource.GameGuess)} game guesses, from {stats.Labellers} {(stats.Labellers == 1 ? "person" : "people")}");
        sb.AppendLine($"Generator: {inference.GeneratorVersion ?? "not loaded"}");
        sb.AppendLine($"Detector: {inference.DetectorVersion ?? "not loaded"}" +
            (inference.DetectorVersion is null ? "" : $" ({inference.DetectorHeldOutFigures ?? "no held-out figures stored with it"})"));
        sb.AppendLine($"Last evaluation: {evaluation ?? "none yet"}");
        sb.Append($"Your game score: {score?.Correct ?? 0}/{score?.Played ?? 0}");
        await context.ReplyAsync(sb.ToString(), ct);
    }
}
