using System.Globalization;
using System.Text.Json.Nodes;
using GanBertBots.Models.GanBert;

namespace GanBertBots.Training.Detector;

/// <summary>
/// What a detector scored on texts it never trained on, against always answering the most frequent class, and what the
/// gate made of it. Stored in the checkpoint (config.json, <c>training.gate</c>) so that <c>models register</c>, the
/// served detector's <c>/stats</c> and a person reading the folder see the figures the decision used.
/// </summary>
/// <param name="Split">Which texts: "held-out" (the test groups), "validation", or a file name.</param>
/// <param name="Forced">The gate refused and <c>--force</c> let it through anyway.</param>
public sealed record GateFigures(
    string Split, int Texts, double Accuracy, double MacroF1,
    string MajorityClass, double BaselineAccuracy, double BaselineMacroF1, double Margin, bool Passed, bool Forced = false)
{
    /// <summary>The same figures judged again with another margin.</summary>
    public GateFigures WithMargin(double margin) => this with { Margin = margin, Passed = MacroF1 > BaselineMacroF1 + margin + 1e-12, Forced = false };

    /// <summary>The decision in one line, with the figures it used.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Split} macro-F1 {MacroF1:0.000} (accuracy {Accuracy:0.000}, {Texts} texts) {(Passed ? "is above" : "is not above")} the majority baseline's {BaselineMacroF1:0.000} (always {MajorityClass}: accuracy {BaselineAccuracy:0.000}) by more than {Margin:0.00}");

    public JsonObject ToJson() => new()
    {
        ["split"] = Split, ["texts"] = Texts, ["accuracy"] = Accuracy, ["macro_f1"] = MacroF1,
        ["majority_class"] = MajorityClass, ["majority_accuracy"] = BaselineAccuracy, ["majority_macro_f1"] = BaselineMacroF1,
        ["margin"] = Margin, ["passed"] = Passed, ["forced"] = Forced,
    };

    public static GateFigures? FromJson(JsonNode? node)
    {
        if (node is not JsonObject o) return null;
        try
        {
            return new GateFigures((string)o["split"]!, (int)o["texts"]!, (double)o["accuracy"]!, (double)o["macro_f1"]!,
                (string)o["majority_class"]!, (double)o["majority_accuracy"]!, (double)o["majority_macro_f1"]!,
                (double)o["margin"]!, (bool)o["passed"]!, (bool?)o["forced"] ?? false);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            return null; // written by something else: not figures the gate can use
        }
    }
}

/// <summary>
/// The gate every detector passes before it is served: its held-out macro-F1 must be above the majority baseline's by
/// more than a margin. A detector answering "chatGPT" for every text of a set that is 80% chatGPT has 0.8 accuracy
/// and a macro-F1 no better than the baseline's; the gate refuses it where accuracy alone would not.
/// </summary>
public static class DetectorGate
{
    public const double DefaultMargin = 0.05;
    /// <summary>Key under config.json's <c>training</c> object.</summary>
    public const string ConfigKey = "gate";

    /// <summary>Judges an evaluation (of texts the detector did not train on).</summary>
    public static GateFigures Check(EvaluationReport report, string split, double margin)
    {
        if (report.Baseline is not { } baseline) throw new ArgumentException("the evaluation scored no text, so there is nothing to gate on");
        bool passed = report.MacroF1 > baseline.MacroF1 + margin + 1e-12;
        return new GateFigures(split, report.Scored, report.Accuracy, report.MacroF1, baseline.Class, baseline.Accuracy, baseline.MacroF1, margin, passed);
    }

    /// <summary>The figures stored in a detector's config (null when it was never gated).</summary>
    public static GateFigures? Read(DetectorConfig config) => GateFigures.FromJson(config.Training[ConfigKey]);

    /// <summary>Evaluates <paramref name="detector"/> on <paramref name="rows"/> and judges it; null when no row has one of its classes.</summary>
    public static GateFigures? Evaluate(GanBertDetector detector, IReadOnlyList<LabelledText> rows, string split, double margin)
    {
        var labelled = rows.Where(r => r.Label is not null && detector.Classes.Contains(r.Label)).ToList();
        if (labelled.Count == 0) return null;
        return Check(DetectorEvaluation.Evaluate(detector, labelled), split, margin);
    }

    /// <summary>Stores the figures in <paramref name="directory"/>'s config.json (training.gate), keeping everything else.</summary>
    public static void Store(string directory, GateFigures figures)
    {
        var config = DetectorCheckpoint.ReadConfig(directory);
        var training = (JsonObject)JsonNode.Parse(config.Training.ToJsonString())!;
        training[ConfigKey] = figures.ToJson();
        DetectorCheckpoint.WriteConfig(directory, config with { Training = training });
    }
}
