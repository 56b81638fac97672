using GanBertBots.Models.GanBert;
using GanBertBots.Models.ZeroShot;
using GanBertBots.Training.ZeroShot;

namespace GanBertBots.Training.Detector;

/// <summary>The real-or-fake answer three ways on the same texts: the detector alone, the zero-shot score alone, fused.</summary>
/// <param name="DetectorAuroc">AUROC of the (calibrated) detector's P(machine) for machine vs person.</param>
/// <param name="ZeroShotAuroc">AUROC of the zero-shot score for machine vs person.</param>
/// <param name="FusedAuroc">AUROC of the fused P(machine); NaN without fusion weights.</param>
/// <param name="FusedEce">Expected calibration error (15 bins) of the fused P(person); NaN without fusion weights.</param>
public sealed record FusionFigures(int Texts, double DetectorAuroc, double ZeroShotAuroc, double FusedAuroc, double FusedEce, double FusedBrier)
{
    public string Format() =>
        $"real or fake on {Texts} texts, AUROC (0.5 = chance): detector {DetectorAuroc:F4}, zero-shot {ZeroShotAuroc:F4}" +
        (double.IsNaN(FusedAuroc) ? ", fused: no fusion weights (calibrate-detector --scorer fits them)"
                                  : $", fused {FusedAuroc:F4} (fused P(person): ECE {FusedEce:F4}, Brier {FusedBrier:F4})");
}

/// <summary>
/// Fits and measures the fusion of the detector's calibrated P(machine) with the served GPT-2's zero-shot score, exactly
/// as the inference service combines them (<see cref="FusionWeights.MachineProbability"/> over 1 − calibrated P(person)).
/// </summary>
public static class FusedVerdicts
{
    /// <summary>Each labelled row (label among the detector's classes): its calibrated P(person), its zero-shot score, whether a person wrote it.</summary>
    public static (List<double> Person, List<double> ZeroShot, List<bool> IsPerson) Collect(GanBertDetector detector, DetectorCalibration? calibration,
        TextScorer scorer, IReadOnlyList<LabelledText> rows, CancellationToken cancellationToken = default)
    {
        var kept = rows.Where(r => r.Label is not null && detector.Classes.Contains(r.Label)).ToList();
        var (probabilities, _) = DetectorCalibrationFit.Run(detector, kept);
        var zeroShot = ZeroShotEvaluation.Score(scorer, kept.Select(r => r.Text).ToList(), cancellationToken: cancellationToken).Select(s => s.Score).ToList();
        return Collect(detector, calibration, kept, probabilities, zeroShot);
    }

    /// <summary>The same from the detector's probabilities and the zero-shot scores already computed for <paramref name="rows"/> (index by index).</summary>
    public static (List<double> Person, List<double> ZeroShot, List<bool> IsPerson) Collect(GanBertDetector detector, DetectorCalibration? calibration,
        IReadOnlyList<LabelledText> rows, IReadOnlyList<double[]> probabilities, IReadOnlyList<double> zeroShot)
    {
        string real = detector.Config.RealClass ?? throw new Models.UserFacingException($"detector {detector.ModelVersion} has no human class: nothing to fuse");
        int realIndex = detector.Classes.ToList().IndexOf(real);
        var kept = Enumerable.Range(0, rows.Count).Where(i => rows[i].Label is { } label && detector.Classes.Contains(label)).ToList();
        var person = kept.Select(i => calibration?.PersonProbability(probabilities[i][realIndex]) ?? probabilities[i][realIndex]).ToList();
        return (person, kept.Select(i => zeroShot[i]).ToList(), kept.Select(i => rows[i].Label == real).ToList());
    }

    /// <summary>Logistic regression over [logit P(machine), zero-shot score] on validation texts.</summary>
    public static FusionWeights Fit(IReadOnlyList<double> person, IReadOnlyList<double> zeroShot, IReadOnlyList<bool> isPerson) =>
        FusionFit.Fit(person.Select((p, i) => new FusionExample(1 - p, zeroShot[i], !isPerson[i])).Where(e => double.IsFinite(e.ZeroShotScore)).ToList());

    public static FusionFigures Measure(IReadOnlyList<double> person, IReadOnlyList<double> zeroShot, IReadOnlyList<bool> isPerson, FusionWeights? fusion)
    {
        var keep = Enumerable.Range(0, person.Count).Where(i => double.IsFinite(zeroShot[i])).ToList();
        var machine = keep.Select(i => !isPerson[i]).ToList();
        double detector = CalibrationMetrics.Auroc(keep.Select(i => 1 - person[i]).ToList(), machine);
        double zero = CalibrationMetrics.Auroc(keep.Select(i => zeroShot[i]).ToList(), machine);
        if (fusion is null) return new FusionFigures(keep.Count, detector, zero, double.NaN, double.NaN, double.NaN);
        var fusedMachine = keep.Select(i => fusion.MachineProbability(1 - person[i], zeroShot[i])).ToList();
        var fusedPerson = fusedMachine.Select(m => 1 - m).ToList();
        var personTruth = keep.Select(i => isPerson[i]).ToList();
        return new FusionFigures(keep.Count, detector, zero, CalibrationMetrics.Auroc(fusedMachine, machine),
            CalibrationMetrics.ExpectedCalibrationError(fusedPerson, personTruth), CalibrationMetrics.Brier(fusedPerson, personTruth));
    }
}
