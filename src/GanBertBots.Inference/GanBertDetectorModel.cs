using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;

namespace GanBertBots.Inference;

/// <summary>
/// The GAN-BERT detector behind the inference service: one batched <see cref="GanBertDetector.Detect(IReadOnlyList{string})"/>
/// call answers a batch of requests; classes come out most likely first, and "real" is the probability of the human class.
/// </summary>
public sealed class GanBertDetectorModel(GanBertDetector detector) : IDetectorModel
{
    public static GanBertDetectorModel Load(string directory, TorchPlacement placement, int batchSize = 32) =>
        new(GanBertDetector.Load(directory, placement, batchSize));

    public GanBertDetector Detector => detector;
    public string ModelVersion => detector.ModelVersion;
    public IReadOnlyList<string> Classes => detector.Classes;

    public IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return detector.Detect(texts).Select(r => new DetectorOutput(
            r.Label,
            r.Probabilities.OrderByDescending(p => p.Value).Select(p => new ClassProbability(p.Key, p.Value)).ToList(),
            r.Real ?? 0,
            r.Truncated)).ToList();
    }

    public void Dispose() => detector.Dispose();
}
