using System.Text.Json.Nodes;
using GanBertBots.Models;
using GanBertBots.Models.GanBert;

namespace GanBertBots.Training.Detector;

/// <summary>One of the equal-width bins of a reliability diagram: predicted probabilities in [Low, High).</summary>
public sealed record ReliabilityBin(double Low, double High, int Count, double MeanPredicted, double ObservedFrequency);

/// <summary>How well probabilities match outcomes (float64).</summary>
public static class CalibrationMetrics
{
    public const int Bins = 15;

    /// <summary>
    /// Equal-width bins over [0, 1] of the predicted probability of the event (a probability of exactly 1 goes in the last bin);
    /// each with the mean prediction and the share of its texts where the event happened. Empty bins are kept (Count 0).
    /// </summary>
    public static IReadOnlyList<ReliabilityBin> Reliability(IReadOnlyList<double> predicted, IReadOnlyList<bool> happened, int bins = Bins)
    {
        Check(predicted, happened);
        var count = new int[bins];
        var sumP = new double[bins];
        var sumY = new double[bins];
        for (int i = 0; i < predicted.Count; i++)
        {
            int b = Math.Min(bins - 1, (int)Math.Floor(predicted[i] * bins));
            count[b]++;
            sumP[b] += predicted[i];
            sumY[b] += happened[i] ? 1 : 0;
        }
        return Enumerable.Range(0, bins).Select(b => new ReliabilityBin((double)b / bins, (double)(b + 1) / bins, count[b],
            count[b] == 0 ? double.NaN : sumP[b] / count[b], count[b] == 0 ? double.NaN : sumY[b] / count[b])).ToList();
    }

    /// <summary>Expected calibration error: Σ over bins of (bin's share of texts) · |mean prediction − observed frequency|.</summary>
    public static double ExpectedCalibrationError(IReadOnlyList<double> predicted, IReadOnlyList<bool> happened, int bins = Bins)
    {
        var reliability = Reliability(predicted, happened, bins);
        return reliability.Where(b => b.Count > 0).Sum(b => (double)b.Count / predicted.Count * Math.Abs(b.MeanPredicted - b.ObservedFrequency));
    }

    /// <summary>Brier score: mean of (p − y)², y = 1 where the event happened.</summary>
    public static double Brier(IReadOnlyList<double> predicted, IReadOnlyList<bool> happened)
    {
        Check(predicted, happened);
        return predicted.Zip(happened).Average(x => (x.First - (x.Second ? 1 : 0)) * (x.First - (x.Second ? 1 : 0)));
    }

    /// <summary>
    /// Area under the ROC curve of a score for an event: the chance that a random text where it happened scores higher
    /// than a random one where it did not, ties counting half (Mann-Whitney). NaN when either side is empty.
    /// </summary>
    public static double Auroc(IReadOnlyList<double> score, IReadOnlyList<bool> happened)
    {
        if (score.Count != happened.Count) throw new ArgumentException("scores and outcomes differ in length");
        var order = Enumerable.Range(0, score.Count).OrderBy(i => score[i]).ToArray();
        // Mid-ranks (1-based) with ties averaged.
        var rank = new double[score.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && score[order[end + 1]] == score[order[start]]) end++;
            for (int k = start; k <= end; k++) rank[order[k]] = (start + end) / 2.0 + 1;
            start = end + 1;
        }
        long positives = happened.Count(h => h), negatives = happened.Count - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        double rankSum = Enumerable.Range(0, score.Count).Where(i => happened[i]).Sum(i => rank[i]);
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    static void Check(IReadOnlyList<double> predicted, IReadOnlyList<bool> happened)
    {
        if (predicted.Count != happened.Count) throw new ArgumentException("predictions and outcomes differ in length");
        if (predicted.Count == 0) throw new ArgumentException("no predictions to score");
        if (predicted.Any(p => !(p >= 0 && p <= 1))) throw new ArgumentException("a prediction is not a probability in [0, 1]");
    }
}

/// <summary>
/// Temperature scaling (Guo et al. 2017) of the real-or-fake answer: the T minimising the negative log-likelihood of
/// σ(logit p / T) for P(person) = p, on labelled texts.
/// </summary>
public static class TemperatureScaling
{
    /// <summary>Mean negative log-likelihood of the outcomes at temperature <paramref name="t"/>.</summary>
    public static double Nll(IReadOnlyList<double> personProbabilities, IReadOnlyList<bool> isPerson, double t)
    {
        double total = 0;
        for (int i = 0; i < personProbabilities.Count; i++)
        {
            double q = DetectorCalibration.Soften(personProbabilities[i], t);
            total -= Math.Log(Math.Max(isPerson[i] ? q : 1 - q, 1e-300));
        }
        return total / personProbabilities.Count;
    }

    /// <summary>
    /// Golden-section search over β = 1/T in [1/20, 20]: the NLL is convex in β (a logistic loss of β·z), so it has one
    /// minimum there. Accurate to about 1e-6 in β.
    /// </summary>
    public static double Fit(IReadOnlyList<double> personProbabilities, IReadOnlyList<bool> isPerson)
    {
        if (personProbabilities.Count != isPerson.Count) throw new ArgumentException("probabilities and outcomes differ in length");
        if (personProbabilities.Count == 0) throw new ArgumentException("no rows to fit a temperature on");
        double F(double beta) => Nll(personProbabilities, isPerson, 1 / beta);
        double lo = 1.0 / 20, hi = 20, phi = (Math.Sqrt(5) - 1) / 2;
        double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo), fa = F(a), fb = F(b);
        while (hi - lo > 1e-6)
        {
            if (fa <= fb) { hi = b; b = a; fb = fa; a = hi - phi * (hi - lo); fa = F(a); }
            else { lo = a; a = b; fa = fb; b = lo + phi * (hi - lo); fb = F(b); }
        }
        return 1 / ((lo + hi) / 2);
    }
}

/// <summary>One validation text for the fusion: the detector's P(machine), the zero-shot score and whether a machine wrote it.</summary>
public readonly record struct FusionExample(double DetectorMachineProbability, double ZeroShotScore, bool Machine);

/// <summary>Fits <see cref="FusionWeights"/> by logistic regression (Newton's method in float64, a small L2 penalty for separable data).</summary>
public static class FusionFit
{
    public static FusionWeights Fit(IReadOnlyList<FusionExample> examples, double l2 = 1e-4, int iterations = 50)
    {
        if (examples.Count < 3) throw new ArgumentException("fusion needs at least 3 validation texts");
        if (examples.Any(e => !double.IsFinite(e.ZeroShotScore))) throw new ArgumentException("a zero-shot score is not a finite number");
        var x = examples.Select(e => new[] { 1.0, FusionWeights.Logit(e.DetectorMachineProbability), e.ZeroShotScore }).ToArray();
        var y = examples.Select(e => e.Machine ? 1.0 : 0.0).ToArray();
        var w = new double[3];
        for (int it = 0; it < iterations; it++)
        {
            var grad = new double[3];
            var hess = new double[3, 3];
            for (int i = 0; i < x.Length; i++)
            {
                double p = FusionWeights.Sigmoid(x[i][0] * w[0] + x[i][1] * w[1] + x[i][2] * w[2]);
                for (int j = 0; j < 3; j++)
                {
                    grad[j] += (p - y[i]) * x[i][j];
                    for (int k = 0; k < 3; k++) hess[j, k] += p * (1 - p) * x[i][j] * x[i][k];
                }
            }
            for (int j = 1; j < 3; j++) { grad[j] += l2 * x.Length * w[j]; hess[j, j] += l2 * x.Length; }
            hess[0, 0] += 1e-12;
            var step = Solve(hess, grad);
            for (int j = 0; j < 3; j++) w[j] -= step[j];
            if (step.Max(Math.Abs) < 1e-10) break;
        }
        return new FusionWeights(w[0], w[1], w[2]);
    }

    /// <summary>Solves the 3×3 system A s = b by Gaussian elimination with partial pivoting.</summary>
    static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = new double[n, n + 1];
        for (int i = 0; i < n; i++) { for (int j = 0; j < n; j++) m[i, j] = a[i, j]; m[i, n] = b[i]; }
        for (int c = 0; c < n; c++)
        {
            int pivot = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(m[r, c]));
            for (int j = 0; j <= n; j++) (m[c, j], m[pivot, j]) = (m[pivot, j], m[c, j]);
            for (int r = c + 1; r < n; r++)
            {
                double f = m[r, c] / m[c, c];
                for (int j = c; j <= n; j++) m[r, j] -= f * m[c, j];
            }
        }
        var s = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double v = m[i, n];
            for (int j = i + 1; j < n; j++) v -= m[i, j] * s[j];
            s[i] = v / m[i, i];
        }
        return s;
    }
}

/// <summary>
/// The shortest text a detector judges reliably. For each length ℓ, the validation texts of at most ℓ tokens taken
/// together (at least <see cref="MinimumTexts"/> of them, at most half of all) are judged correctly with some accuracy;
/// the limit is one more than the largest ℓ where that accuracy is below the level (0 when it never is).
/// </summary>
public static class ShortTextLimit
{
    public const int MinimumTexts = 10;

    public static int Measure(IReadOnlyList<(int Tokens, bool Correct)> judged, double level)
    {
        var sorted = judged.OrderBy(j => j.Tokens).ToList();
        int limit = 0, correct = 0;
        for (int i = 0; i < sorted.Count; i++)
        {
            correct += sorted[i].Correct ? 1 : 0;
            bool lastOfLength = i == sorted.Count - 1 || sorted[i + 1].Tokens != sorted[i].Tokens;
            int n = i + 1;
            if (!lastOfLength || n < MinimumTexts || n > sorted.Count / 2) continue;
            if ((double)correct / n < level) limit = sorted[i].Tokens + 1;
        }
        return limit;
    }
}

/// <summary>Calibration figures of one detector on labelled texts: ECE and Brier of P(person) before and after calibration.</summary>
public sealed record CalibrationReport(int Texts, double EceBefore, double BrierBefore, double EceAfter, double BrierAfter,
    IReadOnlyList<ReliabilityBin> Before, IReadOnlyList<ReliabilityBin> After)
{
    /// <summary>AUROC of P(person) for "a person wrote it" (the temperature does not change it: it keeps the order).</summary>
    public double Auroc { get; init; } = double.NaN;

    public JsonObject ToJson() => new()
    {
        ["texts"] = Texts, ["auroc"] = double.IsNaN(Auroc) ? null : Auroc, ["ece_before"] = EceBefore, ["brier_before"] = BrierBefore, ["ece_after"] = EceAfter, ["brier_after"] = BrierAfter,
    };
}

/// <summary>Fits and measures a detector's calibration on labelled texts.</summary>
public static class DetectorCalibrationFit
{
    /// <summary>Default accuracy below which texts count as too short to judge.</summary>
    public const double DefaultShortTextAccuracy = 0.7;

    /// <summary>The detector's raw class probabilities (in class order) and token counts for <paramref name="rows"/>.</summary>
    public static (List<double[]> Probabilities, List<int> Tokens) Run(GanBertDetector detector, IReadOnlyList<LabelledText> rows)
    {
        var results = detector.Detect(rows.Select(r => r.Text).ToList());
        var probabilities = results.Select(r => detector.Classes.Select(c => r.Probabilities[c]).ToArray()).ToList();
        var tokens = rows.Select(r => TokenCount(detector, r.Text)).ToList();
        return (probabilities, tokens);
    }

    /// <summary>WordPiece tokens the detector reads of a text, without [CLS] and [SEP] (at most its window).</summary>
    public static int TokenCount(GanBertDetector detector, string text) => detector.Tokenizer.Encode(text).Ids.Length - 2;

    /// <summary>
    /// Fits the temperature and the short-text limit on <paramref name="validation"/> (rows whose label is a class) and
    /// reports ECE and Brier before and after, on the same rows.
    /// </summary>
    /// <param name="computed">The detector's <see cref="Run"/> over exactly the rows whose label is a class, when the caller
    /// already has it (so the detector does not read them twice); null = run it here.</param>
    public static (DetectorCalibration Calibration, CalibrationReport Report) Fit(GanBertDetector detector, IReadOnlyList<LabelledText> validation,
        double shortTextAccuracy = DefaultShortTextAccuracy, (List<double[]> Probabilities, List<int> Tokens)? computed = null)
    {
        if (detector.Config.RealClass is not { } real || !detector.Classes.Contains(real))
            throw new UserFacingException($"detector {detector.ModelVersion} has no human class, so it gives no real-or-fake probability to calibrate");
        var rows = validation.Where(r => r.Label is not null && detector.Classes.Contains(r.Label)).ToList();
        if (rows.Count == 0) throw new UserFacingException($"no validation text has a label among the detector's classes ({string.Join(", ", detector.Classes)})");
        var (probabilities, tokens) = computed ?? Run(detector, rows);
        if (probabilities.Count != rows.Count || tokens.Count != rows.Count)
            throw new ArgumentException($"{probabilities.Count} computed answers for {rows.Count} rows", nameof(computed));
        int realIndex = detector.Classes.ToList().IndexOf(real);
        var person = probabilities.Select(p => p[realIndex]).ToList();
        var isPerson = rows.Select(r => r.Label == real).ToList();
        double t = TemperatureScaling.Fit(person, isPerson);
        var calibration = new DetectorCalibration { Temperature = t, MinimumTokensAccuracy = shortTextAccuracy };
        var report = Measure(detector, calibration, rows, probabilities)!;
        // Right or wrong as the verdict would be: the calibrated P(person) on the right side of 0.5.
        var judged = rows.Select((r, i) => (tokens[i], calibration.PersonProbability(person[i]) >= 0.5 == isPerson[i])).ToList();
        var figures = new JsonObject
        {
            ["validation_texts"] = rows.Count,
            ["nll_before"] = TemperatureScaling.Nll(person, isPerson, 1), ["nll_after"] = TemperatureScaling.Nll(person, isPerson, t),
        };
        foreach (var (key, value) in report.ToJson()) figures[key] = value?.DeepClone();
        calibration = calibration with { MinimumTokens = ShortTextLimit.Measure(judged, shortTextAccuracy), Figures = figures };
        return (calibration, report);
    }

    /// <summary>ECE and Brier of P(person) before and after <paramref name="calibration"/>; null when the detector has no human class.</summary>
    public static CalibrationReport? Measure(GanBertDetector detector, DetectorCalibration? calibration, IReadOnlyList<LabelledText> rows,
        IReadOnlyList<double[]>? probabilities = null)
    {
        int realIndex = detector.Config.RealClass is { } real ? detector.Classes.ToList().IndexOf(real) : -1;
        rows = rows.Where(r => r.Label is not null && detector.Classes.Contains(r.Label)).ToList();
        if (realIndex < 0 || rows.Count == 0) return null;
        probabilities ??= Run(detector, rows).Probabilities;
        var isReal = rows.Select(r => r.Label == detector.Config.RealClass).ToList();
        var before = probabilities.Select(p => p[realIndex]).ToList();
        var after = calibration is null ? before : before.Select(calibration.PersonProbability).ToList();
        return new CalibrationReport(rows.Count,
            CalibrationMetrics.ExpectedCalibrationError(before, isReal), CalibrationMetrics.Brier(before, isReal),
            CalibrationMetrics.ExpectedCalibrationError(after, isReal), CalibrationMetrics.Brier(after, isReal),
            CalibrationMetrics.Reliability(before, isReal), CalibrationMetrics.Reliability(after, isReal))
        { Auroc = CalibrationMetrics.Auroc(before, isReal) };
    }
}
