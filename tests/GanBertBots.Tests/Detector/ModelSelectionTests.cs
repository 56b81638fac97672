using System.Text.Json.Nodes;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Detector;

/// <summary>
/// Model selection in <see cref="DetectorTrainer"/>: the detector in OUT is the epoch with the best
/// validation macro-F1, not the last; patience stops early; an interrupted and resumed run makes
/// the same choice as an uninterrupted one; the test set never changes the choice.
/// </summary>
[Collection(TorchRandomSequence.Name)]
public sealed class ModelSelectionTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("detector-select").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    DetectorTrainingOptions Options(string vocab, string outDir, int epochs, int patience = 0, bool resume = false, bool adversarial = true) => new()
    {
        Backbone = "small", VocabPath = vocab, OutputDirectory = outDir, Epochs = epochs, BatchSize = 16, MaxLength = 32,
        LabeledFraction = 0.5, Adversarial = adversarial, Seed = 11, Resume = resume, LearningRate = 1e-2, Patience = patience,
        SmallEncoder = SyntheticDetector.TinyEncoder(File.ReadLines(vocab).Count()) with { MaxPositions = 32 },
    };

    /// <summary>
    /// Validation rows whose labels are swapped: the better the model learns the task, the worse it
    /// scores here, so the best validation epoch comes early and the last epoch is worse.
    /// </summary>
    static List<LabelledText> Swapped(IEnumerable<LabelledText> rows) =>
        rows.Select(r => r with { Label = r.Label == "human" ? "gpt2" : "human" }).ToList();

    /// <summary>The synthetic task: vocabulary, 64 training rows, 40 validation rows with swapped labels.</summary>
    (string Vocab, List<LabelledText> Train, List<LabelledText> Validation) SyntheticSetup() =>
        (SyntheticDetector.WriteVocab(_dir), SyntheticDetector.Rows(64, seed: 1), Swapped(SyntheticDetector.Rows(40, seed: 3)));

    static double MacroF1(string model, IReadOnlyList<LabelledText> rows)
    {
        using var detector = GanBertDetector.Load(model, TorchPlacement.Cpu);
        return DetectorEvaluation.Evaluate(detector, rows).MacroF1;
    }

    static JsonObject State(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, DetectorTrainer.StateFile)))!.AsObject();

    [Fact]
    public void Selection_keeps_the_first_of_equal_scores_and_counts_epochs_without_improvement()
    {
        var s = EpochSelection.Start;
        foreach (var (epoch, score) in new[] { (1, 0.40), (2, 0.55), (3, 0.55), (4, 0.50), (5, double.NaN) })
            s = s.Observe(epoch, score);
        Assert.Equal(2, s.BestEpoch);            // epoch 3 ties, the earlier stays
        Assert.Equal(0.55, s.BestScore);
        Assert.Equal(3, s.EpochsSinceBest);       // 3, 4 and the NaN epoch 5 did not improve
        Assert.True(s.PatienceExhausted(3));
        Assert.False(s.PatienceExhausted(4));
        Assert.False(s.PatienceExhausted(0));     // 0 = no early stopping
        Assert.Equal(6, s.Observe(6, 0.56).BestEpoch);
    }

    [Fact]
    public void Out_holds_the_best_epoch_and_last_holds_the_last()
    {
        var (vocab, train, validation) = SyntheticSetup();
        string outDir = Path.Combine(_dir, "run");

        var outcome = DetectorTrainer.Train(Options(vocab, outDir, epochs: 6), train, validation);
        var scores = outcome.History.Select(h => h.ValidationMacroF1!.Value).ToList();
        int expectedBest = scores.IndexOf(scores.Max()) + 1;   // IndexOf: the first of equal maxima
        Assert.Equal(6, outcome.History.Count);
        Assert.True(expectedBest < 6, $"the setup must make a later epoch worse; validation macro-F1 per epoch: {string.Join(" ", scores)}");
        Assert.Equal(expectedBest, outcome.BestEpoch);

        // The weights in OUT score exactly what the chosen epoch scored; OUT/last scores the last epoch.
        Assert.Equal(scores[expectedBest - 1], MacroF1(outDir, validation), 12);
        Assert.Equal(scores[^1], MacroF1(Path.Combine(outDir, DetectorTrainer.LastEpochDirectory), validation), 12);
        Assert.True(scores[^1] < scores[expectedBest - 1], $"validation macro-F1 per epoch: {string.Join(" ", scores)}");

        // Known answer for the weights: a run of the same seed stopped after the chosen epoch ends with exactly them.
        string shortDir = Path.Combine(_dir, "short");
        DetectorTrainer.Train(Options(vocab, shortDir, epochs: expectedBest), train, validation);
        Assert.Equal(Weights(shortDir), Weights(outDir));
        Assert.NotEqual(Weights(Path.Combine(outDir, DetectorTrainer.LastEpochDirectory)), Weights(outDir));

        var facts = DetectorCheckpoint.ReadConfig(outDir).Training;
        Assert.Equal(expectedBest, facts["best_epoch"]!.GetValue<int>());
        Assert.Equal(EpochSelection.Rule, facts["selection"]!.GetValue<string>());
        Assert.EndsWith($"-e{expectedBest}", DetectorCheckpoint.ReadConfig(outDir).ModelVersion);
        var state = State(outDir);
        Assert.Equal(expectedBest, state["best_epoch"]!.GetValue<int>());
        Assert.Equal(6, state["epochs_done"]!.GetValue<int>());
        Assert.False(state["stopped_early"]!.GetValue<bool>());
    }

    [Fact]
    public void Patience_stops_after_that_many_epochs_without_improvement()
    {
        var (vocab, train, validation) = SyntheticSetup();
        string outDir = Path.Combine(_dir, "run");

        var outcome = DetectorTrainer.Train(Options(vocab, outDir, epochs: 10, patience: 2), train, validation);
        Assert.True(outcome.StoppedEarly);
        Assert.Equal(outcome.BestEpoch + 2, outcome.History.Count);
        Assert.True(outcome.History.Count < 10);
        var scores = outcome.History.Select(h => h.ValidationMacroF1!.Value).ToList();
        Assert.All(scores.Skip(outcome.BestEpoch), s => Assert.True(s <= scores[outcome.BestEpoch - 1]));
        Assert.True(State(outDir)["stopped_early"]!.GetValue<bool>());

        // Resuming a run that stopped early trains nothing more under the same patience.
        var resumed = DetectorTrainer.Train(Options(vocab, outDir, epochs: 10, patience: 2, resume: true), train, validation);
        Assert.Equal(outcome.History, resumed.History);
        Assert.Equal(outcome.BestEpoch, resumed.BestEpoch);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_interrupted_run_resumes_to_the_same_history_choice_and_weights(bool adversarial)
    {
        var (vocab, train, validation) = SyntheticSetup();
        string straight = Path.Combine(_dir, "straight"), broken = Path.Combine(_dir, "broken");

        var whole = DetectorTrainer.Train(Options(vocab, straight, epochs: 5, adversarial: adversarial), train, validation);

        // Interrupted in the middle of epoch 3 (epochs 1-2 written), then resumed.
        using var stop = new CancellationTokenSource();
        var interrupt = new SyncProgress(p => { if (p.Epoch == 3 && p.Step == 3) stop.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            DetectorTrainer.Train(Options(vocab, broken, epochs: 5, adversarial: adversarial), train, validation, progress: interrupt, cancellation: stop.Token));
        Assert.Equal(2, State(broken)["epochs_done"]!.GetValue<int>());
        var resumed = DetectorTrainer.Train(Options(vocab, broken, epochs: 5, resume: true, adversarial: adversarial), train, validation);

        Assert.Equal(whole.History.Select(Numbers), resumed.History.Select(Numbers));
        Assert.Equal(whole.BestEpoch, resumed.BestEpoch);
        Assert.Equal(Weights(straight), Weights(broken));
        // A resume that would choose on other validation rows is refused.
        var other = Swapped(SyntheticDetector.Rows(40, seed: 4));
        var e = Assert.Throws<GanBertBots.Models.UserFacingException>(() =>
            DetectorTrainer.Train(Options(vocab, broken, epochs: 6, resume: true, adversarial: adversarial), train, other));
        Assert.Contains("validation", e.Message);
        // One that would set another number of rows aside says how many each has.
        e = Assert.Throws<GanBertBots.Models.UserFacingException>(() =>
            DetectorTrainer.Train(Options(vocab, broken, epochs: 6, resume: true, adversarial: adversarial), train, validation.Skip(1).ToList()));
        Assert.Contains($"the run chose epochs on {validation.Count} validation rows and this one sets {validation.Count - 1} aside", e.Message);
    }

    [Fact]
    public void A_run_without_a_validation_split_resumed_with_one_is_told_how_to_resume_it_as_it_was()
    {
        var (vocab, train, validation) = SyntheticSetup();
        string outDir = Path.Combine(_dir, "no-split");
        DetectorTrainer.Train(Options(vocab, outDir, epochs: 1), train, []);
        var e = Assert.Throws<GanBertBots.Models.UserFacingException>(() =>
            DetectorTrainer.Train(Options(vocab, outDir, epochs: 2, resume: true), train, validation));
        Assert.Contains($"the run had no validation split and this one sets {validation.Count} rows aside", e.Message);
        Assert.Contains("--validation-fraction 0", e.Message);
        Assert.Equal(1, State(outDir)["epochs_done"]!.GetValue<int>()); // nothing was lost
    }

    [Fact]
    public void The_test_set_never_changes_the_chosen_epoch_or_the_weights()
    {
        var (vocab, train, validation) = SyntheticSetup();
        var test = SyntheticDetector.Rows(60, seed: 2);   // the real labels: it would pick the last epoch
        string without = Path.Combine(_dir, "without"), with = Path.Combine(_dir, "with");

        var a = DetectorTrainer.Train(Options(vocab, without, epochs: 4), train, validation);
        var b = DetectorTrainer.Train(Options(vocab, with, epochs: 4), train, validation, test);
        Assert.All(b.History, h => Assert.NotNull(h.TestAccuracy));
        Assert.All(a.History, h => Assert.Null(h.TestAccuracy));
        Assert.Equal(a.History.Select(Numbers), b.History.Select(h => Numbers(h with { TestAccuracy = null, TestMacroF1 = null })));
        Assert.Equal(a.BestEpoch, b.BestEpoch);
        var testScores = b.History.Select(h => h.TestMacroF1!.Value).ToList();
        Assert.True(testScores[b.BestEpoch - 1] < testScores.Max(), $"the test set would have chosen another epoch: test macro-F1 {string.Join(" ", testScores)}");
        Assert.Equal(Weights(without), Weights(with));
    }

    [Fact]
    public void Without_validation_rows_the_last_epoch_is_kept()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        string outDir = Path.Combine(_dir, "run");
        var outcome = DetectorTrainer.Train(Options(vocab, outDir, epochs: 2, patience: 1), SyntheticDetector.Rows(80, seed: 1));
        Assert.Equal(2, outcome.BestEpoch);
        Assert.False(outcome.StoppedEarly);
        Assert.Equal(EpochSelection.LastEpochRule, State(outDir)["selection"]!.GetValue<string>());
        Assert.Equal(Weights(outDir), Weights(Path.Combine(outDir, DetectorTrainer.LastEpochDirectory)));
    }

    /// <summary>Every tensor of a detector directory's weights, as raw values by name (the header's model version aside).</summary>
    static Dictionary<string, float[]> Weights(string dir)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var file = GanBertBots.Models.IO.SafeTensorsCheckpoint.Open(Path.Combine(dir, DetectorCheckpoint.WeightsFile));
        return file.Tensors.Keys.Order(StringComparer.Ordinal).ToDictionary(name => name, name => file.Load(name).data<float>().ToArray());
    }

    /// <summary>An epoch's numbers without its wall time.</summary>
    static object Numbers(EpochRecord h) => h with { Seconds = 0 };

    /// <summary>Progress reported on the training thread (Progress&lt;T&gt; would post to the thread pool, too late to interrupt).</summary>
    sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
