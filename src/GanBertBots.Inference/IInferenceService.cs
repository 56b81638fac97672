namespace GanBertBots.Inference;

/// <summary>What the rest of the product may ask of the models. Nothing above this touches a tensor.</summary>
public interface IInferenceService
{
    /// <param name="partialText">Receives the tweet text so far as tokens arrive (may be called on the worker thread: keep it cheap).</param>
    Task<TweetResult> GenerateAsync(TweetRequest request, IProgress<string>? partialText = null, CancellationToken cancellationToken = default);
    Task<Verdict> DetectAsync(string text, CancellationToken cancellationToken = default);
    /// <summary>The served GPT-2's view of a text: per-token ranks, sentences and the zero-shot score (Unavailable without a generator).</summary>
    Task<TextEvidence> ExplainAsync(string text, CancellationToken cancellationToken = default);
    /// <summary>Version of the loaded generator, or null when none is loaded.</summary>
    string? GeneratorVersion { get; }
    /// <summary>Version of the loaded detector, or null when none is loaded.</summary>
    string? DetectorVersion { get; }
    /// <summary>The loaded detector's held-out figures in a line (macro-F1 beside the majority baseline, accuracy); null when it has none.</summary>
    string? DetectorHeldOutFigures => null;
    /// <summary>Class names the detector answers with (empty when none is loaded).</summary>
    IReadOnlyList<string> DetectorClasses { get; }
}
