using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;

namespace GanBertBots.Inference;

/// <summary>
/// The GAN-BERT detector behind the inference service: one <see cref="GanBertDetector.Detect"/> call per batch, its
/// P(person) also given through the detector's calibration (calibration.json) when it has one.
/// </summary>
public sealed class GanBertDetectorModel(GanBertDetector detector, string? servedVersion = null, DetectorCalibration? calibration = null) : IDetectorModel
{
    /// <param name="servedVersion">The name it is served under (a registry version); default the checkpoint's own.</param>
    /// <param name="encoderDirectories">Where an adapter detector's base encoder may also be (the models folder); default models/.</param>
    public static GanBertDetectorModel Load(string directory, TorchPlacement placement, string? servedVersion = null,
        IReadOnlyList<string>? encoderDirectories = null)
    {
        var calibration = DetectorCalibration.Read(directory); // before the weights: a bad file is named at once
        return new(GanBertDetector.Load(directory, placement, encoderDirectories: encoderDirectories), servedVersion, calibration);
    }

    public string ModelVersion => servedVersion ?? detector.ModelVersion;
    public IReadOnlyList<string> Classes => detector.Classes;
    public DetectorCalibration? Calibration => calibration;

    // Read once at load; a gate written by something else counts as no figures (GateFigures.Read).
    readonly GateFigures? _gate = GateFigures.Read(detector.Config);

    /// <summary>From the checkpoint's gate: "held-out macro-F1 0.61 (majority baseline 0.07), accuracy 0.64 on 200 texts".</summary>
    public string? HeldOutFigures => _gate?.TrackRecord();

    /// <summary>The checkpoint's gate refused it (it was kept with --force).</summary>
    public bool FailedGate => _gate is { Passed: false };

    public IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return detector.Detect(texts).Select((r, i) => new DetectorOutput(
            r.Label,
            r.Probabilities.Select(p => new ClassProbability(p.Key, p.Value)).OrderByDescending(p => p.Probability).ToList(),
            // A detector trained without a "human" class cannot say real or fake.
            r.Real ?? double.NaN,
            r.Truncated,
            calibration is null || r.Real is not { } person ? double.NaN : calibration.PersonProbability(person),
            detector.Tokenizer.Encode(texts[i]).Ids.Length - 2)).ToList();
    }

    public void Dispose() => detector.Dispose();
}
