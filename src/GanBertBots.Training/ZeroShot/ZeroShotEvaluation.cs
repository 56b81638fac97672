using System.Globalization;
using System.Text;
using GanBertBots.Models;
using GanBertBots.Models.ZeroShot;
using GanBertBots.Training.Detector;

namespace GanBertBots.Training.ZeroShot;

/// <summary>Area under the ROC curve from the rank statistic (Mann–Whitney U), ties counted half.</summary>
public static class Auroc
{
    /// <summary>
    /// P(a positive scores above a negative) + ½ P(tie): U / (n₊ n₋), with U from the average ranks of the pooled
    /// scores. NaN when either side is empty.
    /// </summary>
    public static double Compute(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        int np = positives.Count, nn = negatives.Count;
        if (np == 0 || nn == 0) return double.NaN;
        var pooled = positives.Select(s => (Score: s, Positive: true)).Concat(negatives.Select(s => (Score: s, Positive: false)))
            .OrderBy(x => x.Score).ToArray();
        double positiveRankSum = 0;
        for (int i = 0; i < pooled.Length;)
        {
            int j = i;
            while (j < pooled.Length && pooled[j].Score == pooled[i].Score) j++;
            double averageRank = (i + 1 + j) / 2.0;             // ranks i+1 .. j share their mean
            for (int k = i; k < j; k++) if (pooled[k].Positive) positiveRankSum += averageRank;
            i = j;
        }
        double u = positiveRankSum - np * (np + 1) / 2.0;
        return u / ((double)np * nn);
    }
}

/// <summary>One class against the human texts.</summary>
/// <param name="Auroc">AUROC of the zero-shot score with this class as the positive (machine) side; 0.5 = no better than chance.</param>
public sealed record ZeroShotComparison(string Label, int Count, double MeanScore, double Auroc);

/// <summary>How well the zero-shot score tells human texts from each other class and from all of them.</summary>
public sealed record ZeroShotReport(string HumanLabel, int HumanCount, double HumanMeanScore, IReadOnlyList<ZeroShotComparison> Classes,
                                    ZeroShotComparison All, int Unscored, int Truncated)
{
    /// <summary>A Markdown table, one line per class and one for all, then the texts that could not be scored.</summary>
    public string Format()
    {
        var b = new StringBuilder();
        string F(double x) => double.IsNaN(x) ? "n/a" : x.ToString("F3", CultureInfo.InvariantCulture);
        b.AppendLine($"zero-shot score (Fast-DetectGPT analytical, higher = more machine-like); human = '{HumanLabel}': {HumanCount} texts, mean score {F(HumanMeanScore)}");
        b.AppendLine("| human vs | texts | mean score | AUROC |");
        b.AppendLine("|:---------|------:|-----------:|------:|");
        foreach (var c in Classes.Append(All))
            b.AppendLine($"| {c.Label} | {c.Count} | {F(c.MeanScore)} | {F(c.Auroc)} |");
        if (Unscored > 0) b.AppendLine($"{Unscored} text(s) had fewer than two tokens and no score; left out.");
        if (Truncated > 0) b.AppendLine($"{Truncated} text(s) were longer than the scorer's window; their start was scored.");
        return b.ToString();
    }
}

/// <summary>Scores labelled texts with a GPT-2 (<see cref="TextScorer"/>) and reports AUROC of human against the rest.</summary>
public static class ZeroShotEvaluation
{
    public const string AllLabel = "all others";

    /// <summary>The zero-shot score of each text (NaN where it has fewer than two tokens), in batches.</summary>
    public static IReadOnlyList<ScoredText> Score(TextScorer scorer, IReadOnlyList<string> texts, int batchSize = 16,
        IProgress<int>? done = null, CancellationToken cancellationToken = default)
    {
        var scored = new List<ScoredText>(texts.Count);
        for (int i = 0; i < texts.Count; i += batchSize)
        {
            scored.AddRange(scorer.Score(texts.Skip(i).Take(batchSize).ToList(), cancellationToken));
            done?.Report(scored.Count);
        }
        return scored;
    }

    /// <summary>Scores <paramref name="rows"/> and compares <paramref name="humanLabel"/> with each other label and with all of them.</summary>
    /// <exception cref="UserFacingException">No row is labelled human, or no row has another label.</exception>
    public static ZeroShotReport Evaluate(TextScorer scorer, IReadOnlyList<LabelledText> rows, string humanLabel, int batchSize = 16,
        IProgress<int>? done = null, CancellationToken cancellationToken = default)
    {
        var labelled = rows.Where(r => r.Label is not null).ToList();
        CheckLabels(labelled, humanLabel);
        var scored = Score(scorer, labelled.Select(r => r.Text).ToList(), batchSize, done, cancellationToken);
        return Report(labelled, scored, humanLabel);
    }

    /// <summary>The report from texts already scored (<paramref name="scored"/>[i] is <paramref name="labelled"/>[i]'s).</summary>
    public static ZeroShotReport Report(IReadOnlyList<LabelledText> labelled, IReadOnlyList<ScoredText> scored, string humanLabel)
    {
        CheckLabels(labelled, humanLabel);
        return Compare(labelled.Select(r => r.Label!).ToList(), scored.Select(s => s.Score).ToList(), humanLabel,
            scored.Count(s => s.Truncated));
    }

    /// <exception cref="UserFacingException">No row is labelled human, or no row has another label.</exception>
    public static void CheckLabels(IReadOnlyList<LabelledText> labelled, string humanLabel)
    {
        var labels = labelled.Select(r => r.Label!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (!labels.Contains(humanLabel))
            throw new UserFacingException($"no text is labelled '{humanLabel}' (the human class); labels found: {string.Join(", ", labels.Take(12))}. Name it with --human");
        if (labels.Count < 2)
            throw new UserFacingException($"every text is labelled '{humanLabel}': there is nothing to tell them from");
    }

    /// <summary>The report from scores already computed (one per label; NaN = unscored).</summary>
    public static ZeroShotReport Compare(IReadOnlyList<string> labels, IReadOnlyList<double> scores, string humanLabel, int truncated = 0)
    {
        var byLabel = labels.Zip(scores).Where(x => !double.IsNaN(x.Second))
            .GroupBy(x => x.First, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(x => x.Second).ToList(), StringComparer.Ordinal);
        var human = byLabel.GetValueOrDefault(humanLabel) ?? [];
        var classes = byLabel.Where(kv => kv.Key != humanLabel).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new ZeroShotComparison(kv.Key, kv.Value.Count, kv.Value.Average(), Auroc.Compute(kv.Value, human))).ToList();
        var others = byLabel.Where(kv => kv.Key != humanLabel).SelectMany(kv => kv.Value).ToList();
        var all = new ZeroShotComparison(AllLabel, others.Count, others.Count > 0 ? others.Average() : double.NaN, Auroc.Compute(others, human));
        return new ZeroShotReport(humanLabel, human.Count, human.Count > 0 ? human.Average() : double.NaN, classes, all,
            scores.Count(double.IsNaN), truncated);
    }
}
