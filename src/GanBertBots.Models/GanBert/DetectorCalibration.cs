using System.Text.Json;
using System.Text.Json.Nodes;

namespace GanBertBots.Models.GanBert;

/// <summary>
/// A logistic regression that fuses the detector's (calibrated) P(machine) with the served GPT-2's zero-shot score:
/// P(machine) = σ(Bias + DetectorWeight · logit(p_detector) + ZeroShotWeight · zero-shot score).
/// </summary>
public sealed record FusionWeights(double Bias, double DetectorWeight, double ZeroShotWeight)
{
    /// <summary>Probabilities are kept this far from 0 and 1 before taking their logit.</summary>
    public const double ProbabilityFloor = 1e-6;

    public static double Logit(double p)
    {
        p = Math.Clamp(p, ProbabilityFloor, 1 - ProbabilityFloor);
        return Math.Log(p / (1 - p));
    }

    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>The fused P(machine) from the detector's P(machine) and the zero-shot score.</summary>
    public double MachineProbability(double detectorMachineProbability, double zeroShotScore) =>
        Sigmoid(Bias + DetectorWeight * Logit(detectorMachineProbability) + ZeroShotWeight * zeroShotScore);
}

/// <summary>
/// What a detector's raw softmax needs before it is shown as a probability, fitted on its validation split and kept
/// beside the weights as calibration.json: a temperature T (softmax(log p / T), Guo et al. 2017), the shortest text
/// (in WordPiece tokens) it judges reliably, and optionally fusion weights with the zero-shot score. A detector
/// without the file serves its raw softmax.
/// </summary>
public sealed record DetectorCalibration
{
    public const string FileName = "calibration.json";

    /// <summary>Divides the log-probabilities before the softmax; above 1 softens an over-confident detector.</summary>
    public double Temperature { get; init; } = 1;
    /// <summary>Texts with fewer WordPiece tokens than this are "too short to judge reliably"; 0 = no limit measured.</summary>
    public int MinimumTokens { get; init; }
    /// <summary>The real-or-fake accuracy that texts shorter than <see cref="MinimumTokens"/> fell below on validation data.</summary>
    public double MinimumTokensAccuracy { get; init; } = 0.7;
    /// <summary>Fusion with the zero-shot score; null when none was fitted.</summary>
    public FusionWeights? Fusion { get; init; }
    /// <summary>Figures measured when it was fitted (validation rows, ECE and Brier before and after, ...).</summary>
    public JsonObject Figures { get; init; } = new();

    /// <summary>Calibrated class probabilities: softmax(log p / T) over the k classes (the same as softmax(logits / T)).</summary>
    public double[] Apply(IReadOnlyList<double> probabilities) => Soften(probabilities, Temperature);

    /// <summary>softmax(log p / T) in float64; probabilities of 0 are floored at 1e-12 first.</summary>
    public static double[] Soften(IReadOnlyList<double> probabilities, double temperature)
    {
        var scaled = probabilities.Select(p => Math.Log(Math.Max(p, 1e-12)) / temperature).ToArray();
        double max = scaled.Max();
        var e = scaled.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    public JsonObject ToJson() => new()
    {
        ["temperature"] = Temperature,
        ["minimum_tokens"] = MinimumTokens,
        ["minimum_tokens_accuracy"] = MinimumTokensAccuracy,
        ["fusion"] = Fusion is { } f ? new JsonObject { ["bias"] = f.Bias, ["detector_weight"] = f.DetectorWeight, ["zero_shot_weight"] = f.ZeroShotWeight } : null,
        ["figures"] = JsonNode.Parse(Figures.ToJsonString()),
    };

    public void Write(string directory)
    {
        string path = Path.Combine(directory, FileName);
        File.WriteAllText(path + ".partial", ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(path + ".partial", path, overwrite: true);
    }

    /// <summary>The calibration in <paramref name="directory"/>, or null when it has none. A file that does not read is an error naming it.</summary>
    public static DetectorCalibration? Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FormatException("not a JSON object");
            double t = (double)o["temperature"]!;
            if (!(t > 0) || !double.IsFinite(t)) throw new FormatException($"temperature must be a positive number (got {t})");
            int minimum = (int?)o["minimum_tokens"] ?? 0;
            if (minimum < 0) throw new FormatException($"minimum_tokens must not be negative (got {minimum})");
            FusionWeights? fusion = o["fusion"] is JsonObject f
                ? new FusionWeights((double)f["bias"]!, (double)f["detector_weight"]!, (double)f["zero_shot_weight"]!)
                : null;
            return new DetectorCalibration
            {
                Temperature = t, MinimumTokens = minimum, MinimumTokensAccuracy = (double?)o["minimum_tokens_accuracy"] ?? 0.7,
                Fusion = fusion, Figures = o["figures"] is JsonObject figures ? (JsonObject)JsonNode.Parse(figures.ToJsonString())! : new JsonObject(),
            };
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new CheckpointException($"{path} does not read as a detector calibration: {e.Message}");
        }
    }
}
