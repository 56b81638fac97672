using System.Globalization;
using System.Text.Json.Nodes;
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

    /// <summary>From the checkpoint's gate (config.json training.gate): "held-out macro-F1 0.61 (majority baseline 0.07), accuracy 0.64 on 200 texts".</summary>
    public string? HeldOutFigures { get; } = ReadHeldOutFigures(detector.Config.Training["gate"] as JsonObject);

    /// <summary>The checkpoint's gate says "passed": false (it was kept with --force).</summary>
    public bool FailedGate { get; } = detector.Config.Training["gate"] is JsonObject gate && Value<bool>(gate, "passed") == false;

    // Read once at load; a gate written by something else (a field missing or of another type) counts as no figures.
    static string? ReadHeldOutFigures(JsonObject? gate) =>
        gate is not null && Text(gate, "split") is { } split && Value<double>(gate, "macro_f1") is { } f1
        && Value<double>(gate, "majority_macro_f1") is { } baseline && Value<double>(gate, "accuracy") is { } accuracy
        && Value<int>(gate, "texts") is { } texts
            ? string.Create(CultureInfo.InvariantCulture,
                $"{split} macro-F1 {f1:0.00} (majority baseline {baseline:0.00}), accuracy {accuracy:0.00} on {texts} texts{(Value<bool>(gate, "forced") == true ? "; let through with --force" : "")}")
            : null;

    static T? Value<T>(JsonObject o, string key) where T : struct =>
        o[key] is JsonValue v && v.TryGetValue(out T value) ? value : null;

    static string? Text(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out string? value) ? value : null;

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
