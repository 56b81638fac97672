using System.Text;
using System.Text.Json.Nodes;
using GanBertBots.Models.GanBert;

namespace GanBertBots.Training.Detector;

/// <summary>Precision, recall, F1 and support of one class.</summary>
public sealed record ClassReport(string Class, double Precision, double Recall, double F1, int Support);

/// <summary>What always answering <paramref name="Class"/> (the most frequent true label) scores on the same texts.</summary>
public sealed record MajorityBaseline(string Class, double Accuracy, double MacroF1);


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
    /// <summary>Always answering the most frequent true class of the scored texts: the score a detector must beat to have learnt anything.</summary>
    public MajorityBaseline? Baseline { get; init; }
    /// <summary>Macro-F1 of real (the human class) against fake (every other class); null without a human class.</summary>
    public double? RealOrFakeMacroF1 { get; init; }
    /// <summary>Always answering the more frequent of real and fake.</summary>
    public MajorityBaseline? RealOrFakeBaseline { get; init; }
    /// <summary>The class predicted most often and its share of all predictions (scored texts and out-of-set ones).</summary>
    public (string Class, double Share)? MostPredicted { get; init; }

    /// <summary>Share of predictions above which one class is said to dominate (a detector that answers one class for everything).</summary>
    public const double DominanceShare = 0.9;

    /// <summary>A warning when one class takes more than <see cref="DominanceShare"/> of the predictions; null otherwise.</summary>
    public string? DominanceWarning => MostPredicted is { } m && m.Share > DominanceShare
        ? System.FormattableString.Invariant($"WARNING: the detector answered \"{m.Class}\" for {m.Share * 100:0.0}% of the texts (more than {DominanceShare * 100:0}%): ") +
          "it may have learnt little beyond the most frequent class; compare it with the majority baseline"
        : null;

    public string Format()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"texts scored: {Scored}" + (OutOfSet > 0 ? $" (+{OutOfSet} whose label is not a detector class; shown in the matrix only)" : ""));
        int w = Math.Max(10, Classes.Concat(TrueLabels).Max(c => c.Length) + 1);
        // Every accuracy with its macro-F1, and under it what always answering the most frequent class scores.
        sb.AppendLine($"{"",-34}accuracy  macro-F1");
        sb.AppendLine($"{"classes",-34}{Accuracy,8:F4}  {MacroF1,8:F4}");
        if (Baseline is { } b) sb.AppendLine($"{$"  majority baseline (always {b.Class})",-34}{b.Accuracy,8:F4}  {b.MacroF1,8:F4}");
        if (RealOrFakeAccuracy is { } rf)
        {
            sb.AppendLine($"{"real or fake",-34}{rf,8:F4}  {RealOrFakeMacroF1 ?? 0,8:F4}");
            if (RealOrFakeBaseline is { } rb) sb.AppendLine($"{$"  majority baseline (always {rb.Class})",-34}{rb.Accuracy,8:F4}  {rb.MacroF1,8:F4}");
        }
        sb.AppendLine($"MCC       {Mcc:F4}");
        if (DominanceWarning is { } warning) sb.AppendLine(warning);
        sb.AppendLine();
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
        ["real_or_fake_accuracy"] = RealOrFakeAccuracy, ["real_or_fake_macro_f1"] = RealOrFakeMacroF1,
        ["majority_class"] = Baseline?.Class, ["majority_accuracy"] = Baseline?.Accuracy, ["majority_macro_f1"] = Baseline?.MacroF1,
        ["real_or_fake_majority_accuracy"] = RealOrFakeBaseline?.Accuracy, ["real_or_fake_majority_macro_f1"] = RealOrFakeBaseline?.MacroF1,
        ["most_predicted_class"] = MostPredicted?.Class, ["most_predicted_share"] = MostPredicted?.Share,
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
        var report = ScoreOnly(classes, truth, predicted, realClass);
        var scoredTruth = truth.Where(classes.Contains).ToList();
        var mostPredicted = predicted.Count == 0 ? ((string, double)?)null
            : predicted.GroupBy(p => p).OrderByDescending(g => g.Count()).ThenBy(g => IndexOf(classes, g.Key))
                .Select(g => (g.Key, (double)g.Count() / predicted.Count)).First();
        if (scoredTruth.Count == 0) return report with { MostPredicted = mostPredicted };
        // The most frequent true class (ties: the first in class order), answered for every scored text.
        string majority = scoredTruth.GroupBy(t => t).OrderByDescending(g => g.Count()).ThenBy(g => IndexOf(classes, g.Key)).First().Key;
        var always = ScoreOnly(classes, scoredTruth, scoredTruth.Select(_ => majority).ToList(), realClass);
        report = report with { Baseline = new MajorityBaseline(majority, always.Accuracy, always.MacroF1), MostPredicted = mostPredicted };
        if (realClass is null || !classes.Contains(realClass)) return report;
        // Real or fake as a two-class task of its own: its macro-F1 and its majority baseline.
        string Side(string label) => label == realClass ? "real" : "fake";
        var binaryTruth = scoredTruth.Select(Side).ToList();
        var binaryPredicted = truth.Zip(predicted).Where(p => classes.Contains(p.First)).Select(p => Side(p.Second)).ToList();
        string[] sides = ["real", "fake"];
        var binary = ScoreOnly(sides, binaryTruth, binaryPredicted);
        string majoritySide = binaryTruth.Count(t => t == "real") >= binaryTruth.Count(t => t == "fake") ? "real" : "fake";
        var binaryAlways = ScoreOnly(sides, binaryTruth, binaryTruth.Select(_ => majoritySide).ToList());
        return report with
        {
            RealOrFakeMacroF1 = binary.MacroF1,
            RealOrFakeBaseline = new MajorityBaseline(majoritySide == "real" ? realClass : "fake", binaryAlways.Accuracy, binaryAlways.MacroF1),
        };
    }

    static EvaluationReport ScoreOnly(IReadOnlyList<string> classes, IReadOnlyList<string> truth, IReadOnlyList<string> predicted, string? realClass = null)
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
