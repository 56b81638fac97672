using System.Text;
using System.Text.Json.Nodes;
using GanBertBots.Models.GanBert;

namespace GanBertBots.Training.Detector;

/// <summary>Precision, recall, F1 and support of one class.</summary>
public sealed record ClassReport(string Class, double Precision, double Recall, double F1, int Support);

/// <summary>
/// How a detector did on labelled texts. Rows whose true label is not one of the detector's
/// classes (out-of-distribution generators) are kept in the confusion matrix as extra rows but
/// left out of accuracy, macro-F1 and MCC.
/// </summary>
public sealed record EvaluationReport(
    IReadOnlyList<string> Classes,
    IReadOnlyList<string> TrueLabels,
    int[,] Confusion,
    int Scored,
    int OutOfSet,
    double Accuracy,
    double MacroF1,
    double Mcc,
    IReadOnlyList<ClassReport> PerClass,
    double? RealOrFakeAccuracy)
{
    public string Format()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"texts scored: {Scored}" + (OutOfSet > 0 ? $" (+{OutOfSet} whose label is not a detector class; shown in the matrix only)" : ""));
        sb.AppendLine($"accuracy  {Accuracy:F4}");
        sb.AppendLine($"macro-F1  {MacroF1:F4}");
        sb.AppendLine($"MCC       {Mcc:F4}");
        if (RealOrFakeAccuracy is { } rf) sb.AppendLine($"real/fake accuracy {rf:F4}");
        sb.AppendLine();
        int w = Math.Max(10, Classes.Concat(TrueLabels).Max(c => c.Length) + 1);
        sb.AppendLine($"{"class".PadRight(w)} precision  recall      f1  support");
        foreach (var c in PerClass)
            sb.AppendLine($"{c.Class.PadRight(w)} {c.Precision,9:F4} {c.Recall,7:F4} {c.F1,7:F4} {c.Support,8}");
        sb.AppendLine();
        sb.AppendLine("confusion (rows: true label, columns: predicted)");
        sb.AppendLine("".PadRight(w) + string.Concat(Classes.Select(c => c.Length > 9 ? c[..9].PadLeft(10) : c.PadLeft(10))));
        for (int r = 0; r < TrueLabels.Count; r++)
            sb.AppendLine(TrueLabels[r].PadRight(w) + string.Concat(Enumerable.Range(0, Classes.Count).Select(c => Confusion[r, c].ToString().PadLeft(10))));
        return sb.ToString();
    }

    public JsonObject ToJson() => new()
    {
        ["scored"] = Scored, ["out_of_set"] = OutOfSet, ["accuracy"] = Accuracy, ["macro_f1"] = MacroF1, ["mcc"] = Mcc,
        ["real_or_fake_accuracy"] = RealOrFakeAccuracy,
        ["classes"] = new JsonArray(Classes.Select(c => (JsonNode)c).ToArray()),
        ["true_labels"] = new JsonArray(TrueLabels.Select(c => (JsonNode)c).ToArray()),
        ["confusion"] = new JsonArray(Enumerable.Range(0, TrueLabels.Count)
            .Select(r => (JsonNode)new JsonArray(Enumerable.Range(0, Classes.Count).Select(c => (JsonNode)Confusion[r, c]).ToArray())).ToArray()),
        ["per_class"] = new JsonArray(PerClass.Select(c => (JsonNode)new JsonObject
            { ["class"] = c.Class, ["precision"] = c.Precision, ["recall"] = c.Recall, ["f1"] = c.F1, ["support"] = c.Support }).ToArray()),
    };
}

public static class DetectorEvaluation
{
    /// <summary>Runs the detector over labelled texts and scores it.</summary>
    public static EvaluationReport Evaluate(GanBertDetector detector, IReadOnlyList<LabelledText> rows)
    {
        var labelled = rows.Where(r => r.Label is not null).ToList();
        if (labelled.Count == 0) throw new GanBertBots.Models.UserFacingException("no labelled rows to evaluate on");
        var results = detector.Detect(labelled.Select(r => r.Text).ToList());
        return Score(detector.Classes, labelled.Select(r => r.Label!).ToList(), results.Select(r => r.Label).ToList(), detector.Config.RealClass);
    }

    /// <summary>Scores predictions against true labels (both class names).</summary>
    public static EvaluationReport Score(IReadOnlyList<string> classes, IReadOnlyList<string> truth, IReadOnlyList<string> predicted, string? realClass = null)
    {
        if (truth.Count != predicted.Count) throw new ArgumentException("truth and predictions differ in length");
        var trueLabels = classes.Concat(truth.Where(t => !classes.Contains(t)).Distinct().OrderBy(t => t, StringComparer.Ordinal)).ToList();
        int k = classes.Count;
        var confusion = new int[trueLabels.Count, k];
        for (int i = 0; i < truth.Count; i++)
        {
            int p = IndexOf(classes, predicted[i]);
            if (p < 0) throw new ArgumentException($"prediction '{predicted[i]}' is not a class");
            confusion[IndexOf(trueLabels, truth[i]), p]++;
        }
        int scored = 0, correct = 0;
        var tCount = new long[k];
        var pCount = new long[k];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
            {
                scored += confusion[r, c];
                tCount[r] += confusion[r, c];
                pCount[c] += confusion[r, c];
                if (r == c) correct += confusion[r, c];
            }
        var perClass = new List<ClassReport>();
        for (int c = 0; c < k; c++)
        {
            double precision = pCount[c] == 0 ? 0 : (double)confusion[c, c] / pCount[c];
            double recall = tCount[c] == 0 ? 0 : (double)confusion[c, c] / tCount[c];
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassReport(classes[c], precision, recall, f1, (int)tCount[c]));
        }
        // Macro-F1 over the classes present in the truth (a class with no examples has no recall to average).
        var present = perClass.Where(c => c.Support > 0).ToList();
        double macroF1 = present.Count == 0 ? 0 : present.Average(c => c.F1);
        // Multi-class MCC (Gorodkin 2004): (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)).
        double s = scored, cov = correct * s - Enumerable.Range(0, k).Sum(i => (double)pCount[i] * tCount[i]);
        double den = Math.Sqrt((s * s - pCount.Sum(p => (double)p * p)) * (s * s - tCount.Sum(t => (double)t * t)));
        double mcc = den == 0 ? 0 : cov / den;
        double? realOrFake = null;
        int realIndex = realClass is null ? -1 : IndexOf(classes, realClass);
        if (realIndex >= 0 && scored > 0)
        {
            int agree = 0;
            for (int r = 0; r < k; r++)
                for (int c = 0; c < k; c++)
                    if ((r == realIndex) == (c == realIndex)) agree += confusion[r, c];
            realOrFake = (double)agree / scored;
        }
        return new EvaluationReport(classes, trueLabels, confusion, scored, truth.Count - scored,
            scored == 0 ? 0 : (double)correct / scored, macroF1, mcc, perClass, realOrFake);
    }

    static int IndexOf(IReadOnlyList<string> list, string item)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == item) return i;
        return -1;
    }
}
