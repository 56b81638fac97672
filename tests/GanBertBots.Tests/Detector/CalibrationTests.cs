using GanBertBots.Inference;
using GanBertBots.Models.GanBert;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Detector;

/// <summary>Calibration figures and fits against answers worked out by hand or known from how the data was made.</summary>
public sealed class CalibrationTests
{
    // Six predictions of P(person), in three of the 15 bins (width 1/15): bin 0 (0.05, 0.06), bin 7 (0.50, 0.52), bin 13 (0.90, 0.92).
    static readonly double[] P = [0.05, 0.06, 0.50, 0.52, 0.90, 0.92];
    static readonly bool[] Person = [false, true, true, false, true, true];

    [Fact]
    public void Ece_over_15_bins_matches_a_hand_computation()
    {
        // bin 0: mean 0.055, observed 1/2 -> |0.445|; bin 7: mean 0.51, observed 1/2 -> 0.01; bin 13: mean 0.91, observed 1 -> 0.09.
        // Each bin holds 2 of 6 texts: ECE = (0.445 + 0.01 + 0.09) / 3.
        Assert.Equal((0.445 + 0.01 + 0.09) / 3, CalibrationMetrics.ExpectedCalibrationError(P, Person), 12);
        var bins = CalibrationMetrics.Reliability(P, Person);
        Assert.Equal(15, bins.Count);
        Assert.Equal([2, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 2, 0], bins.Select(b => b.Count));
        Assert.Equal(0.91, bins[13].MeanPredicted, 12);
        Assert.Equal(1.0, bins[13].ObservedFrequency, 12);
    }

    [Fact]
    public void Brier_matches_a_hand_computation()
    {
        // (0.05-0)² + (0.06-1)² + (0.50-1)² + (0.52-0)² + (0.90-1)² + (0.92-1)² = 0.0025 + 0.8836 + 0.25 + 0.2704 + 0.01 + 0.0064
        Assert.Equal(1.4229 / 6, CalibrationMetrics.Brier(P, Person), 12);
    }

    [Fact]
    public void Auroc_counts_the_pairs_ordered_right_with_ties_as_half()
    {
        // Persons: 0.06, 0.50, 0.90, 0.92; others: 0.05, 0.52. Pairs (person above other): 0.06 beats 0.05 (1 of 2),
        // 0.50 beats 0.05 (1 of 2), 0.90 and 0.92 beat both (4): 6 of 8.
        Assert.Equal(6.0 / 8, CalibrationMetrics.Auroc(P, Person), 12);
        Assert.Equal(0.5, CalibrationMetrics.Auroc([0.3, 0.3], [true, false]), 12); // a tie counts half
        Assert.True(double.IsNaN(CalibrationMetrics.Auroc([0.3], [true])));
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        Assert.Contains("not a probability", Assert.Throws<ArgumentException>(() => CalibrationMetrics.Brier([1.2], [true])).Message);
        Assert.Contains("no predictions", Assert.Throws<ArgumentException>(() => CalibrationMetrics.ExpectedCalibrationError([], [])).Message);
    }

    [Fact]
    public void Softening_with_a_temperature_matches_a_hand_computation()
    {
        // σ(logit 0.8 / 2) = σ(ln 4 / 2) = σ(ln 2) = 2/3; T = 1 leaves it; T = 1/2 sharpens: σ(2 ln 4) = 16/17.
        Assert.Equal(2.0 / 3, DetectorCalibration.Soften(0.8, 2), 12);
        Assert.Equal(0.8, DetectorCalibration.Soften(0.8, 1), 12);
        Assert.Equal(16.0 / 17, new DetectorCalibration { Temperature = 0.5 }.PersonProbability(0.8), 12);
    }

    /// <summary>Real-or-fake logits z; outcomes drawn with P(person) = σ(z / T₀); the detector reports σ(z). The fit must find T₀.</summary>
    [Theory]
    [InlineData(2.5)]  // over-confident detector
    [InlineData(0.6)]  // under-confident detector
    public void The_fitted_temperature_recovers_the_one_the_labels_were_drawn_with(double t0)
    {
        var rng = new Random(7);
        var person = new List<double>();
        var outcomes = new List<bool>();
        for (int i = 0; i < 20_000; i++)
        {
            double z = 3 * Gaussian(rng);
            person.Add(FusionWeights.Sigmoid(z));
            outcomes.Add(rng.NextDouble() < FusionWeights.Sigmoid(z / t0));
        }
        double t = TemperatureScaling.Fit(person, outcomes);
        Assert.InRange(t, t0 * 0.95, t0 * 1.05);
        Assert.True(TemperatureScaling.Nll(person, outcomes, t) < TemperatureScaling.Nll(person, outcomes, 1));
        // The fitted temperature also brings the ECE down to sampling noise.
        var calibrated = person.Select(p => DetectorCalibration.Soften(p, t)).ToList();
        Assert.True(CalibrationMetrics.ExpectedCalibrationError(calibrated, outcomes) < 0.02);
        Assert.True(CalibrationMetrics.ExpectedCalibrationError(person, outcomes) > 0.05);
    }

    [Fact]
    public void The_fusion_fit_recovers_the_weights_the_labels_were_drawn_with()
    {
        var rng = new Random(11);
        var truth = new FusionWeights(-0.5, 1.5, 2.0);
        var examples = Enumerable.Range(0, 20_000).Select(_ =>
        {
            double detector = FusionWeights.Sigmoid(2 * Gaussian(rng)), zeroShot = Gaussian(rng);
            return new FusionExample(detector, zeroShot, rng.NextDouble() < truth.MachineProbability(detector, zeroShot));
        }).ToList();
        var fitted = FusionFit.Fit(examples);
        Assert.InRange(fitted.Bias, -0.65, -0.35);
        Assert.InRange(fitted.DetectorWeight, 1.35, 1.65);
        Assert.InRange(fitted.ZeroShotWeight, 1.8, 2.2);
    }

    [Fact]
    public void The_fused_probability_uses_the_logit_of_the_detector_probability()
    {
        // σ(0.5 + 2·logit 0.8 − 1·0.3) = σ(0.2 + 2 ln 4) = 1 / (1 + e^(−0.2) / 16)
        Assert.Equal(1 / (1 + Math.Exp(-0.2) / 16), new FusionWeights(0.5, 2, -1).MachineProbability(0.8, 0.3), 12);
    }

    [Fact]
    public void The_short_text_limit_is_where_the_shortest_texts_together_fall_below_the_level()
    {
        // 10 texts of 3 tokens, 5 right (0.5); with the 10 of 8 tokens, 14 of 20 right (0.70, not below 0.7); 20 long ones all right.
        var judged = Enumerable.Range(0, 10).Select(i => (3, i < 5))
            .Concat(Enumerable.Range(0, 10).Select(i => (8, i < 9)))
            .Concat(Enumerable.Range(0, 20).Select(_ => (20, true))).ToList();
        Assert.Equal(4, ShortTextLimit.Measure(judged, 0.7));
        Assert.Equal(9, ShortTextLimit.Measure(judged, 0.75)); // 0.70 < 0.75 too: the limit moves past 8 tokens
        Assert.Equal(0, ShortTextLimit.Measure(judged, 0.5));  // nothing falls below 0.5
    }

    [Theory]
    [InlineData(0.80, 20, 5, VerdictJudgement.LikelyPerson)]
    [InlineData(0.20, 20, 5, VerdictJudgement.LikelyMachine)]
    [InlineData(0.55, 20, 5, VerdictJudgement.CantTell)]
    [InlineData(0.41, 20, 5, VerdictJudgement.CantTell)]
    [InlineData(0.61, 20, 5, VerdictJudgement.LikelyPerson)]
    [InlineData(0.95, 4, 5, VerdictJudgement.TooShort)]
    [InlineData(0.95, 4, 0, VerdictJudgement.LikelyPerson)]  // no limit measured
    [InlineData(double.NaN, 20, 5, VerdictJudgement.None)]
    public void A_verdict_is_worded_from_the_band_and_the_length(double person, int tokens, int minimum, VerdictJudgement expected)
    {
        Assert.Equal(expected, new VerdictOptions { UndecidedMargin = 0.1 }.Judge(person, tokens, minimum));
    }

    [Theory]
    [InlineData(0.20, 20, 5, 0.04, VerdictJudgement.NoEvidence)]
    [InlineData(0.20, 20, 5, 0.05, VerdictJudgement.LikelyMachine)]   // not below the margin
    [InlineData(0.95, 4, 5, 0.01, VerdictJudgement.TooShort)]         // too short is said first
    [InlineData(double.NaN, 20, 5, 0.01, VerdictJudgement.None)]
    public void Even_class_scores_are_no_evidence(double person, int tokens, int minimum, double distance, VerdictJudgement expected)
    {
        Assert.Equal(expected, new VerdictOptions { UndecidedMargin = 0.1, EvenMargin = 0.05 }.Judge(person, tokens, minimum, distance));
    }

    [Theory]
    [InlineData(0.05, 20, 5, double.PositiveInfinity, VerdictJudgement.FailedGate)] // confident, long: still no verdict
    [InlineData(0.95, 4, 5, 1.0, VerdictJudgement.FailedGate)]                     // said before too short
    [InlineData(0.20, 20, 5, 0.01, VerdictJudgement.FailedGate)]                    // and before no evidence
    [InlineData(double.NaN, 20, 5, 1.0, VerdictJudgement.None)]                     // no human class: nothing to withhold
    public void A_detector_that_failed_its_gate_gives_no_verdict_on_any_text(double person, int tokens, int minimum, double distance, VerdictJudgement expected)
    {
        var options = new VerdictOptions { UndecidedMargin = 0.1, EvenMargin = 0.05 };
        Assert.Equal(expected, options.Judge(person, tokens, minimum, distance, detectorFailedGate: true));
        Assert.NotEqual(VerdictJudgement.FailedGate, options.Judge(person, tokens, minimum, distance, detectorFailedGate: false));
    }

    [Fact]
    public void The_distance_from_an_even_split_is_the_largest_gap_to_one_over_k()
    {
        // 1/4 = 0.25: gaps 0.15, 0.05, 0.05, 0.05 (P(person) 0.20: 0.05).
        Assert.Equal(0.15, VerdictOptions.DistanceFromEven([new("a", 0.40), new("b", 0.20), new("c", 0.20), new("d", 0.20)], 0.20), 12);
        // A low score counts as much as a high one: 0.04 is 0.16 below 1/5.
        Assert.Equal(0.16, VerdictOptions.DistanceFromEven([new("a", 0.24), new("b", 0.24), new("c", 0.24), new("d", 0.24), new("e", 0.04)], 0.24), 12);
        // Even raw scores, but a calibrated P(person) of 0.5: 0.3 from 1/5.
        Assert.Equal(0.30, VerdictOptions.DistanceFromEven([new("a", 0.21), new("b", 0.20), new("c", 0.20), new("d", 0.20), new("e", 0.19)], 0.5), 12);
        Assert.Equal(double.PositiveInfinity, VerdictOptions.DistanceFromEven([new("a", 1.0)], 1.0));
    }

    [Fact]
    public void A_calibration_file_round_trips_and_a_bad_one_is_named()
    {
        using var dir = new Hub.ScratchDirectory();
        var calibration = new DetectorCalibration { Temperature = 1.7, MinimumTokens = 6, Fusion = new FusionWeights(0.1, 1.2, -0.3) };
        calibration.Write(dir.Path);
        var read = DetectorCalibration.Read(dir.Path)!;
        Assert.Equal((1.7, 6, calibration.Fusion), (read.Temperature, read.MinimumTokens, read.Fusion));
        File.WriteAllText(Path.Combine(dir.Path, DetectorCalibration.FileName), """{"temperature": -1}""");
        var e = Assert.Throws<GanBertBots.Models.CheckpointException>(() => DetectorCalibration.Read(dir.Path));
        Assert.Contains("calibration.json does not read as a detector calibration: temperature must be a positive number", e.Message);
        Assert.Null(DetectorCalibration.Read(Path.Combine(dir.Path, "absent")));
    }

    static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
