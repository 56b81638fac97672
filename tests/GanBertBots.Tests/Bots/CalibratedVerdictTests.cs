using GanBertBots.Inference;
using GanBertBots.Models.GanBert;

namespace GanBertBots.Tests.Bots;

/// <summary>The inference service turns a detector's (calibrated) answer into a worded verdict; fusion falls back without a zero-shot score.</summary>
public sealed class CalibratedVerdictTests
{
    /// <summary>A two-class detector whose raw P(person) is 0.45 and calibrated 0.30, counting words as tokens.</summary>
    sealed class CalibratedDetector(DetectorCalibration? calibration) : IDetectorModel
    {
        public string ModelVersion => "calibrated-v1";
        public IReadOnlyList<string> Classes => ["human", "gpt2"];
        public DetectorCalibration? Calibration => calibration;
        public IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            texts.Select(t => new DetectorOutput("gpt2", [new("gpt2", 0.55), new("human", 0.45)], 0.45, false,
                calibration is null ? double.NaN : 0.30, t.Split(' ').Length)).ToList();
        public void Dispose() { }
    }

    [Fact]
    public async Task A_calibrated_detector_is_judged_on_its_calibrated_probability_and_short_texts_are_too_short()
    {
        var calibration = new DetectorCalibration { Temperature = 1.5, MinimumTokens = 4, Fusion = new FusionWeights(0, 1, 5) };
        using var service = new InferenceService(new InferenceOptions(), detector: new CalibratedDetector(calibration));

        var v = await service.DetectAsync("the river rose over the road");
        // Raw 0.45 would be "can't tell" (within 0.1 of 0.5); calibrated 0.30 is not.
        Assert.Equal((0.30, true, false, VerdictJudgement.LikelyMachine, false), (v.CalibratedRealProbability, v.Calibrated, v.Fused, v.Judgement, v.IsReal));
        Assert.Equal(0.45, v.RealProbability);       // the raw score stays for the bars
        Assert.True(double.IsNaN(v.ZeroShotScore));  // no zero-shot scorer yet: the fusion weights are not used

        var shortOne = await service.DetectAsync("river rose");
        Assert.Equal((VerdictJudgement.TooShort, 2, 4), (shortOne.Judgement, shortOne.TokenCount, shortOne.MinimumTokens));
        string text = GanBertBots.Conversation.VerdictText.Format(shortOne, "human");
        Assert.StartsWith("Verdict: too short to judge reliably (2 tokens; this detector needs at least 4).\nIts scores anyway: person 30% (calibrated)\n", text.ReplaceLineEndings("\n"));
        Assert.Contains("Most likely writer: a machine (gpt2) - 55%", text);
    }

    [Fact]
    public async Task Without_a_calibration_the_raw_softmax_is_worded_and_said_to_be_raw()
    {
        var options = new InferenceOptions { Verdict = { UndecidedMargin = 0.1 } };
        using var service = new InferenceService(options, detector: new CalibratedDetector(null));
        var v = await service.DetectAsync("the river rose over the road");
        Assert.Equal((0.45, false, VerdictJudgement.CantTell), (v.CalibratedRealProbability, v.Calibrated, v.Judgement));
        Assert.StartsWith("Verdict: can't tell - person 45% (raw detector score)", GanBertBots.Conversation.VerdictText.Format(v, "human"));
    }

    /// <summary>A five-class detector that gives chatGPT 22% and the other four 19.5% each (an untrained one's kind of answer).</summary>
    sealed class EvenDetector(DetectorCalibration? calibration) : IDetectorModel
    {
        public string ModelVersion => "even-v1";
        public IReadOnlyList<string> Classes => ["human", "chatGPT", "cohere", "davinci", "gpt2"];
        public DetectorCalibration? Calibration => calibration;
        public IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            texts.Select(_ => new DetectorOutput("chatGPT", [new("chatGPT", 0.22), new("human", 0.195), new("cohere", 0.195), new("davinci", 0.195), new("gpt2", 0.195)],
                0.195, false, calibration is null ? double.NaN : calibration.PersonProbability(0.195), 20)).ToList();
        public void Dispose() { }
    }

    [Fact]
    public async Task An_uncalibrated_detector_with_even_scores_gives_no_verdict_and_says_why()
    {
        using var service = new InferenceService(new InferenceOptions(), detector: new EvenDetector(null));
        var v = await service.DetectAsync("the river rose over the road");
        // Every class within 0.025 of 1/5 (< EvenMargin 0.05): P(person) 19.5% would otherwise read "likely machine-written".
        Assert.Equal((VerdictJudgement.NoEvidence, 0.195, false), (v.Judgement, v.CalibratedRealProbability, v.IsReal));
        string text = GanBertBots.Conversation.VerdictText.Format(v, "human").ReplaceLineEndings("\n");
        Assert.StartsWith("Verdict: no evidence either way - this detector scores every class about evenly on this text.\n"
            + "Its scores anyway: person 20% (raw detector score)\nMost likely writer: a machine (chatGPT) - 22%\n", text);

        // With the check off (EvenMargin 0) the scores are worded as before.
        using var unchecked_ = new InferenceService(new InferenceOptions { Verdict = { EvenMargin = 0 } }, detector: new EvenDetector(null));
        Assert.Equal(VerdictJudgement.LikelyMachine, (await unchecked_.DetectAsync("the river rose over the road")).Judgement);
        // A calibration that leaves P(person) at 19.5% (T = 1, what one fitted to an untrained detector finds) is no evidence either.
        using var flat = new InferenceService(new InferenceOptions(), detector: new EvenDetector(new DetectorCalibration { Temperature = 1 }));
        var f = await flat.DetectAsync("the river rose over the road");
        Assert.Equal((VerdictJudgement.NoEvidence, true), (f.Judgement, f.Calibrated));
        // One that sharpens a timid detector (T = 0.2: σ(logit(0.195) / 0.2) = 0.0008) moves P(person) away from 1/5: judged.
        using var sharp = new InferenceService(new InferenceOptions(), detector: new EvenDetector(new DetectorCalibration { Temperature = 0.2 }));
        var v2 = await sharp.DetectAsync("the river rose over the road");
        Assert.Equal(VerdictJudgement.LikelyMachine, v2.Judgement);
        Assert.Equal(0.00083, v2.CalibratedRealProbability, 5);
    }

    [Fact]
    public void A_bad_even_margin_is_named_at_start()
    {
        var e = Assert.Throws<ArgumentException>(() => new InferenceOptions { Verdict = { EvenMargin = -0.1 } }.Validate());
        Assert.Contains("Inference:Verdict:EvenMargin must be at least 0 and below 0.5 (was -0.1)", e.Message);
    }

    [Fact]
    public void A_bad_undecided_margin_is_named_at_start()
    {
        var e = Assert.Throws<ArgumentException>(() => new InferenceOptions { Verdict = { UndecidedMargin = 0.7 } }.Validate());
        Assert.Contains("Inference:Verdict:UndecidedMargin must be at least 0 and below 0.5 (was 0.7)", e.Message);
    }
}
