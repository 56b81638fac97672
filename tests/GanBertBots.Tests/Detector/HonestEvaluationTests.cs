using GanBertBots.Models.GanBert;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Detector;

/// <summary>eval-detector's figures beside what always answering the most frequent class scores, and the gate built on them.</summary>
public sealed class HonestEvaluationTests
{
    static readonly string[] Classes = ["human", "chatGPT", "gpt2"];

    /// <summary>Issue 12's useless detector in miniature: 8 chatGPT texts and 2 human ones, "chatGPT" answered for all.</summary>
    static EvaluationReport AlwaysChatGpt() => DetectorEvaluation.Score(Classes,
        ["chatGPT", "chatGPT", "chatGPT", "chatGPT", "chatGPT", "chatGPT", "chatGPT", "chatGPT", "human", "human"],
        Enumerable.Repeat("chatGPT", 10).ToList(), "human");

    [Fact]
    public void A_detector_answering_one_class_scores_exactly_the_majority_baseline_and_is_warned_about()
    {
        var r = AlwaysChatGpt();
        // By hand: chatGPT precision 8/10, recall 1, F1 = 2·0.8/1.8 = 0.8889; human F1 0; gpt2 absent from the truth.
        Assert.Equal(0.8, r.Accuracy, 12);
        Assert.Equal((2 * 0.8 / 1.8 + 0) / 2, r.MacroF1, 12);
        Assert.Equal(("chatGPT", 0.8), (r.Baseline!.Class, r.Baseline.Accuracy));
        Assert.Equal(0.4444444444, r.Baseline.MacroF1, 9);
        // Real or fake: the same picture on two classes; fake is the majority.
        Assert.Equal(0.8, r.RealOrFakeAccuracy!.Value, 12);
        Assert.Equal(0.4444444444, r.RealOrFakeMacroF1!.Value, 9);
        Assert.Equal(("fake", 0.8), (r.RealOrFakeBaseline!.Class, r.RealOrFakeBaseline.Accuracy));
        Assert.Equal(("chatGPT", 1.0), r.MostPredicted);

        string text = r.Format();
        Assert.Contains("majority baseline (always chatGPT)", text);
        Assert.Contains("majority baseline (always fake)", text);
        Assert.Matches(@"real or fake\s+0\.8000\s+0\.4444", text);
        Assert.Contains("WARNING: the detector answered \"chatGPT\" for 100.0% of the texts (more than 90%)", text);
    }

    [Fact]
    public void A_balanced_detector_gets_no_warning_and_its_baseline_is_the_first_most_frequent_class()
    {
        // 2 human, 2 gpt2 (a tie: the first in class order is the majority), predictions half right.
        var r = DetectorEvaluation.Score(Classes, ["human", "gpt2", "human", "gpt2"], ["human", "human", "gpt2", "gpt2"], "human");
        Assert.Null(r.DominanceWarning);
        Assert.Equal("human", r.Baseline!.Class);
        Assert.Equal(0.5, r.Baseline.Accuracy, 12);
        Assert.Equal((2 * 0.5 / 1.5) / 2, r.Baseline.MacroF1, 12); // human F1 = 2·0.5·1/1.5, gpt2 F1 = 0
        Assert.Equal(0.5, r.MacroF1, 12);
        Assert.DoesNotContain("WARNING", r.Format());
    }

    [Fact]
    public void The_gate_refuses_a_detector_no_better_than_the_baseline_and_passes_one_that_is()
    {
        var useless = DetectorGate.Check(AlwaysChatGpt(), "held-out", 0.05);
        Assert.False(useless.Passed);
        Assert.Contains("held-out macro-F1 0.444 (accuracy 0.800, 10 texts) is not above the majority baseline's 0.444 (always chatGPT: accuracy 0.800) by more than 0.05", useless.Describe());

        var good = DetectorEvaluation.Score(Classes, ["chatGPT", "chatGPT", "chatGPT", "human", "human"], ["chatGPT", "chatGPT", "chatGPT", "human", "chatGPT"], "human");
        // macro-F1 = (F1 human 2/3 + F1 chatGPT 6/7) / 2 = 0.7619; baseline (always chatGPT) = (2·0.6/1.6)/2 = 0.375.
        var passed = DetectorGate.Check(good, "validation", 0.05);
        Assert.True(passed.Passed);
        Assert.Equal((2.0 / 3 + 6.0 / 7) / 2, passed.MacroF1, 12);
        Assert.Equal(0.375, passed.BaselineMacroF1, 12);
        // The margin is the bar: 0.3869 above the baseline passes at 0.38 and fails at 0.39.
        Assert.True(passed.WithMargin(0.38).Passed);
        Assert.False(passed.WithMargin(0.39).Passed);
        Assert.Equal(passed, GateFigures.FromJson(passed.ToJson()));
    }
}

/// <summary>train-detector ends by calibrating on its validation split and gating the chosen detector; the figures stay with it.</summary>
public sealed class TrainDetectorGateTests : IDisposable
{
    readonly Hub.ScratchDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Training_with_a_validation_split_writes_calibration_json_and_the_gate_figures_it_decided_on()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir.Path);
        string data = FirstRun.FirstRunFiles.DetectorJsonl(_dir.Path, rows: 60);
        string output = Path.Combine(_dir.Path, "detector");
        var (code, text, error) = await Retraining.CliRun.RunAsync(new Dictionary<string, string?>(), "train-detector", "--data", data,
            "--backbone", "small", "--vocab", vocab, "--epochs", "1", "--max-length", "32", "--validation-fraction", "0.3",
            "--threads", "1", "--out", output);

        var calibration = GanBertBots.Models.GanBert.DetectorCalibration.Read(output);
        Assert.NotNull(calibration);
        Assert.Contains("calibration fitted on validation", text);
        var stored = GateFigures.Read(DetectorCheckpoint.ReadConfig(output))!;
        Assert.Equal("validation", stored.Split);
        // The stored figures are what an independent evaluation of the same detector on validation.jsonl gives.
        using var detector = GanBertBots.Models.GanBert.GanBertDetector.Load(output, GanBertBots.Models.Runtime.TorchPlacement.Cpu);
        var rows = DetectorData.Load(Path.Combine(output, "validation.jsonl"), "text", "label");
        var report = DetectorEvaluation.Evaluate(detector, rows);
        Assert.Equal((report.Scored, report.MacroF1, report.Baseline!.MacroF1), (stored.Texts, stored.MacroF1, stored.BaselineMacroF1));
        Assert.Equal(report.MacroF1 > report.Baseline.MacroF1 + DetectorGate.DefaultMargin, stored.Passed);
        Assert.Equal(stored.Passed ? 0 : 1, code);
        Assert.Contains(stored.Passed ? "gate passed: validation macro-F1" : "train-detector: gate refused: validation macro-F1", text + error);
    }
}

/// <summary>models register judges the figures train-detector stored, again, with the margin configured now.</summary>
public sealed class RegisterGateTests : IDisposable
{
    readonly Hub.ScratchDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Stored_figures_are_judged_with_the_configured_margin()
    {
        string det = TinyRoundModels.Detector(Path.Combine(_dir.Path, "det"), ["a flood downtown", "fire on the hill"]);
        // 0.30 against a baseline of 0.20: passes at the default margin 0.05, fails at 0.15.
        DetectorGate.Store(det, new GateFigures("held-out", 120, 0.5, 0.30, "human", 0.4, 0.20, 0.05, Passed: true));
        var settings = new Dictionary<string, string?> { ["Retraining:RegistryRoot"] = Path.Combine(_dir.Path, "registry") };

        settings["Retraining:MinMacroF1OverBaseline"] = "0.15";
        var (code, output, error) = await Retraining.CliRun.RunAsync(settings, "models", "register", "detector", det);
        Assert.Equal(1, code);
        Assert.Contains("models register: gate refused: held-out macro-F1 0.300 (accuracy 0.500, 120 texts) is not above the majority baseline's 0.200 (always human: accuracy 0.400) by more than 0.15", error);

        settings["Retraining:MinMacroF1OverBaseline"] = "2";
        (code, _, error) = await Retraining.CliRun.RunAsync(settings, "models", "register", "detector", det);
        Assert.NotEqual(0, code);
        Assert.Contains("Retraining:MinMacroF1OverBaseline must be a number at least -1 and below 1 (got '2')", error);

        settings.Remove("Retraining:MinMacroF1OverBaseline");
        (code, output, error) = await Retraining.CliRun.RunAsync(settings, "models", "register", "detector", det);
        Assert.True(code == 0, error);
        Assert.Contains("gate passed: held-out macro-F1 0.300", output);
        Assert.Contains("detector v0001 registered", output);
    }
}
