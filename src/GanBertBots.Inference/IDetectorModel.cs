using GanBertBots.Models.GanBert;

namespace GanBertBots.Inference;

/// <summary>The detector's answer for one text of a batch.</summary>
/// <param name="Probabilities">Every class with its probability, most likely first.</param>
/// <param name="RealProbability">Probability that a person wrote it (the raw softmax).</param>
/// <param name="CalibratedRealProbability">The same after the detector's calibration; NaN when it has none.</param>
/// <param name="TokenCount">Tokens the detector read; 0 when it does not say.</param>
public sealed record DetectorOutput(string Label, IReadOnlyList<ClassProbability> Probabilities, double RealProbability, bool Truncated,
    double CalibratedRealProbability = double.NaN, int TokenCount = 0);

/// <summary>A detector behind the inference service. Same threading rules as <see cref="ITweetModel"/>.</summary>
public interface IDetectorModel : IDisposable
{
    string ModelVersion { get; }
    IReadOnlyList<string> Classes { get; }
    /// <summary>One output per text, in order.</summary>
    IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken);
    /// <summary>The detector's calibration (calibration.json); null when it serves its raw softmax.</summary>
    DetectorCalibration? Calibration => null;
    /// <summary>Its held-out figures in a line (from its checkpoint's gate), for /stats; null when it has none.</summary>
    string? HeldOutFigures => null;
    /// <summary>True when its checkpoint's gate found it no better than the majority baseline (served only through --force).</summary>
    bool FailedGate => false;
}
