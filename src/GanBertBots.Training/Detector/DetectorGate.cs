using System.Text.Json.Nodes;
using GanBertBots.Models.GanBert;

namespace GanBertBots.Training.Detector;

/// <summary>
/// The gate every detector passes before it is served: its held-out macro-F1 must be above the majority baseline's by
/// more than a margin. A detector answering "chatGPT" for every text of a set that is 80% chatGPT has 0.8 accuracy
/// and a macro-F1 no better than the baseline's; the gate refuses it where accuracy alone would not.
/// </summary>
public static class DetectorGate
{
    public const double DefaultMargin = 0.05;

    /// <summary>Judges an evaluation (of texts the detector did not train on).</summary>
    public static GateFigures Check(EvaluationReport report, string split, double margin)
    {
        if (report.Baseline is not { } baseline) throw new ArgumentException("the evaluation scored no text, so there is nothing to gate on");
        bool passed = report.MacroF1 > baseline.MacroF1 + margin + 1e-12;
        return new GateFigures(split, report.Scored, report.Accuracy, report.MacroF1, baseline.Class, baseline.Accuracy, baseline.MacroF1, margin, passed);
    }

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
        training[GateFigures.ConfigKey] = figures.ToJson();
        DetectorCheckpoint.WriteConfig(directory, config with { Training = training });
    }
}
