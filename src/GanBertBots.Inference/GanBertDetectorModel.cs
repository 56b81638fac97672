using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;

namespace GanBertBots.Inference;

/// <summary>The GAN-BERT detector behind the inference service: one <see cref="GanBertDetector.Detect"/> call per batch.</summary>
public sealed class GanBertDetectorModel(GanBertDetector detector, string? servedVersion = null) : IDetectorModel
{
    /// <param name="servedVersion">The name it is served under (a registry version); default the checkpoint's own.</param>
    public static GanBertDetectorModel Load(string directory, TorchPlacement placement, string? servedVersion = null) =>
        new(GanBertDetector.Load(directory, placement), servedVersion);

    public string ModelVersion => servedVersion ?? detector.ModelVersion;
    public IReadOnlyList<string> Classes => detector.Classes;

    public IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return detector.Detect(texts).Select(r => new DetectorOutput(
            r.Label,
            r.Probabilities.Select(p => new ClassProbability(p.Key, p.Value)).OrderByDescending(p => p.Probability).ToList(),
            // A detector trained without a "human" class cannot say real or fake.
            r.Real ?? double.NaN,
            r.Truncated)).ToList();
    }

    public void Dispose() => detector.Dispose();
}
