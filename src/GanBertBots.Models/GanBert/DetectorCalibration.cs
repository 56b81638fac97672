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
/// beside the weights as calibration.json: a temperature T for its real-or-fake answer (σ(logit P(person) / T), temperature
/// scaling as in Guo et al. 2017 on the two-way answer the verdict states), the shortest text
/// (in WordPiece tokens) it judges reliably, and optionally fusion weights with the zero-shot score. A detector
/// without the file serves its raw softmax.
/// </summary>
public sealed record DetectorCalibration
{
    public const string FileName = "calibration.json";

    /// <summary>Divides the real-or-fake logit; above 1 softens an over-confident detector, below 1 sharpens a timid one.</summary>
    public double Temperature { get; init; } = 1;
    /// <summary>Texts with fewer WordPiece tokens than this are "too short to judge reliably"; 0 = no limit measured.</summary>
    public int MinimumTokens { get; init; }
    /// <summary>The real-or-fake accuracy that texts shorter than <see cref="MinimumTokens"/> fell below on validation data.</summary>
    public double MinimumTokensAccuracy { get; init; } = 0.7;
    /// <summary>Fusion with the zero-shot score; null when none was fitted.</summary>
    public FusionWeights? Fusion { get; init; }
    /// <summary>Figures measured when it was fitted (validation rows, ECE and Brier before and after, ...).</summary>
    public JsonObject Figures { get; init; } = new();

    /// <summary>
    /// Calibrated P(person): the real-or-fake logit log(p / (1 − p)) divided by the temperature, back through the sigmoid.
    /// (Temperature scaling of the two-way real-or-fake answer, the probability the verdict states.)
    /// </summary>
    public double PersonProbability(double rawPersonProbability) => Soften(rawPersonProbability, Temperature);

    /// <summary>σ(logit(p) / T) in float64; p is kept within 1e-12 of 0 and 1 first.</summary>
    public static double Soften(double probability, double temperature)
    {
        double p = Math.Clamp(probability, 1e-12, 1 - 1e-12);
        return FusionWeights.Sigmoid(Math.Log(p / (1 - p)) / temperature);
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
