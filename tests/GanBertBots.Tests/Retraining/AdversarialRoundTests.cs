using GanBertBots.Models.GanBert;
using GanBertBots.Training.Rounds;

namespace GanBertBots.Tests.Retraining;

public sealed class AdversarialRoundTests : IDisposable
{
    readonly RoundFixture _f = new();

    public void Dispose() => _f.Dispose();

    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G'];

    /// <summary>A score as the real trainer gives one: with its held-out figures against the majority class (judged at margin 0).</summary>
    static DetectorScore Measured(double macroF1, double accuracy, double baselineMacroF1) => new(macroF1, accuracy)
    {
        Gate = new GateFigures("held-out", 100, accuracy, macroF1, "human", 0.5, baselineMacroF1, 0, Passed: macroF1 > baselineMacroF1),
    };

    [Fact]
    public async Task A_round_that_passes_the_gate_promotes_both_candidates_hot_swaps_and_reports()
    {
        var report = await _f.Round().RunAsync("moderator:alice", CancellationToken.None);

        Assert.Equal(RoundOutcome.Promoted, report.Outcome);
        Assert.Equal("v0002", _f.Registry.Live("generator")!.Version);
        Assert.Equal("v0002", _f.Registry.Live("detector")!.Version);
        Assert.Equal(2, FakeCheckpoint.Generation(_f.Registry.Live("generator")!.Directory));
        Assert.Equal([("detector", "v0002"), ("generator", "v0002")], _f.Steps.Swaps.ToArray());
        Assert.Same(report, Assert.Single(_f.Steps.Reports));
        Assert.Equal("moderator:alice", _f.Registry.History("generator")[^1].By);

        // Step 2 got the live detector, the store's data and the live generator's fresh samples as its own class.
        var request = _f.Steps.LastDetectorRequest!;
        Assert.Equal(_f.Registry.Get("detector", "v0001").Directory, request.LiveDetectorDirectory);
        Assert.All(request.GeneratorSamples, s => Assert.EndsWith("of generator 1", s));
        // A share of the 8 samples is held out as the generator's class for the gate, never trained on.
        var heldOutSamples = _f.Steps.LastHeldOut!.Where(t => t.Class == "gpt2").ToList();
        Assert.NotEmpty(heldOutSamples);
        Assert.Equal(8, request.GeneratorSamples.Count + heldOutSamples.Count);
        Assert.Empty(request.GeneratorSamples.Intersect(heldOutSamples.Select(t => t.Text)));
        Assert.Contains(_f.Steps.LastHeldOut!, t => t is { Text: "held out tweet", Class: "human" });
        Assert.Equal("gpt2", request.GeneratorClass);

        // Metrics kept with the versions; report and plots beside the checkpoints.
        var generator = _f.Registry.Get("generator", "v0002");
        Assert.Equal(0.25, generator.Metrics["fool_rate"]);
        Assert.Equal(41, generator.Metrics["perplexity"]);
        Assert.Equal(1, generator.Metrics["promoted"]);
        Assert.Equal(0.82, _f.Registry.Get("detector", "v0002").Metrics["macro_f1"]);
        string md = File.ReadAllText(Path.Combine(generator.ReportDirectory, "report.md"));
        Assert.Contains("| detector macro-F1 (held-out) | 0.800 | 0.820 |", md);
        Assert.Contains("| generator perplexity (held-out) | 40.00 | 41.00 |", md);
        Assert.Contains("| fool rate vs new detector | 10.0% | 25.0% |", md);
        Assert.Contains("**Promoted**", md);
        Assert.True(File.Exists(Path.Combine(_f.Registry.Get("detector", "v0002").ReportDirectory, "report.json")));
        Assert.Equal(2, report.Plots.Count);
        foreach (string plot in report.Plots)
        {
            Assert.StartsWith(generator.ReportDirectory, plot);
            Assert.Equal(PngSignature, File.ReadAllBytes(plot)[..4]);
        }
        // The report folder is not part of the checkpoint manifest: the version still verifies.
        _f.Registry.Verify(generator);
        Assert.Empty(_f.ScratchLeftovers());
    }

    [Fact]
    public async Task A_detector_losing_too_much_macro_f1_is_registered_but_not_promoted_and_the_reason_is_recorded()
    {
        _f.Steps.CandidateF1 = 0.77; // live 0.80, margin 0.02
        var report = await _f.Round().RunAsync("schedule", CancellationToken.None);

        Assert.Equal(RoundOutcome.Rejected, report.Outcome);
        Assert.Contains("detector macro-F1 0.770 vs live 0.800 (may drop at most 0.020): too low", report.Reason);
        Assert.DoesNotContain("perplexity", report.Reason);
        Assert.Equal("v0001", _f.Registry.Live("generator")!.Version);
        Assert.Equal("v0001", _f.Registry.Live("detector")!.Version);
        Assert.Empty(_f.Steps.Swaps);
        var candidate = _f.Registry.Get("detector", "v0002");
        Assert.Equal(0, candidate.Metrics["promoted"]);
        Assert.Contains("too low", candidate.Notes);
        Assert.Contains("Gate: refused.", File.ReadAllText(Path.Combine(candidate.ReportDirectory, "report.md")));
        Assert.Equal(RoundOutcome.Rejected, Assert.Single(_f.Steps.Reports).Outcome);
    }

    [Fact]
    public async Task A_generator_whose_perplexity_worsens_beyond_the_factor_is_refused_while_one_inside_it_passes()
    {
        _f.Steps.CandidatePerplexity = 44.5; // live 40 x 1.10 = 44
        var refused = await _f.Round().RunAsync("schedule", CancellationToken.None);
        Assert.Equal(RoundOutcome.Rejected, refused.Outcome);
        Assert.Contains("generator perplexity 44.50 vs live 40.00 (at most x1.10 = 44.00): too high", refused.Reason);

        _f.Steps.CandidatePerplexity = 43.9;
        var passed = await _f.Round().RunAsync("schedule", CancellationToken.None);
        Assert.Equal(RoundOutcome.Promoted, passed.Outcome);
        Assert.Equal("v0003", _f.Registry.Live("generator")!.Version);
    }

    [Fact]
    public void The_gate_refuses_non_finite_metrics()
    {
        var round = _f.Round();
        var gate = round.Decide(new RoundMetrics(new(0.8, 0.8), new(double.NaN, 0.8), new(40, 0.1), new(40, 0.2), 8));
        Assert.False(gate.Passed);
        gate = round.Decide(new RoundMetrics(new(0.8, 0.8), new(0.8, 0.8), new(40, 0.1), new(double.PositiveInfinity, 0.2), 8));
        Assert.False(gate.Passed);
        Assert.True(round.Decide(new RoundMetrics(new(0.8, 0.8), new(0.78, 0.8), new(40, 0.1), new(44, 0.2), 8)).Passed);
    }

    [Fact]
    public void The_gate_refuses_a_candidate_no_better_than_the_majority_baseline_and_names_one_that_is_worse_calibrated()
    {
        var round = _f.Round();
        // Better than the live detector, but its macro-F1 0.44 is the baseline's (always the majority class): refused.
        var useless = Measured(0.44, 0.8, baselineMacroF1: 0.44);
        var gate = round.Decide(new RoundMetrics(new(0.40, 0.7), useless, new(40, 0.1), new(40, 0.2), 8));
        Assert.False(gate.Passed);
        Assert.Contains("detector macro-F1 0.440 vs majority baseline 0.440 (must be above by more than 0.050): too low", gate.Reasons);

        // More accurate than the live one but its ECE rose from 0.03 to 0.20: promoted, and the report says so.
        var live = Measured(0.70, 0.72, baselineMacroF1: 0.3) with { Ece = 0.03, Brier = 0.15 };
        var sharper = Measured(0.75, 0.78, baselineMacroF1: 0.3) with { Ece = 0.20, Brier = 0.19 };
        gate = round.Decide(new RoundMetrics(live, sharper, new(40, 0.1), new(40, 0.2), 8));
        Assert.True(gate.Passed);
        Assert.Contains("detector calibration of P(person): ECE 0.030 -> 0.200, Brier 0.150 -> 0.190: more accurate but worse calibrated", gate.Reasons);
        var report = new RoundReport
        {
            RoundId = "r1", RequestedBy = "test", StartedAt = DateTimeOffset.UnixEpoch, FinishedAt = DateTimeOffset.UnixEpoch,
            Outcome = RoundOutcome.Promoted, Reason = "ok", Metrics = new RoundMetrics(live, sharper, new(40, 0.1), new(40, 0.2), 8), Gate = gate,
        };
        Assert.Contains("| detector ECE of P(person), 15 bins (held-out) | 0.030 | 0.200 |", report.ToMarkdown());
        Assert.Contains("| majority-class baseline macro-F1 (held-out) | 0.300 | 0.300 |", report.ToMarkdown());
        Assert.Contains("Detector calibration of P(person): ECE 0.030 -> 0.200, Brier 0.150 -> 0.190 (held-out)", report.ToChatText());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_crash_in_step_2_or_3_leaves_the_live_models_serving_and_the_next_run_succeeds(int step)
    {
        var crash = new InvalidOperationException($"injected crash in step {step}");
        if (step == 2) _f.Steps.FailDetectorTraining = crash; else _f.Steps.FailGeneratorTraining = crash;

        var failed = await _f.Round().RunAsync("schedule", CancellationToken.None);
        Assert.Equal(RoundOutcome.Failed, failed.Outcome);
        Assert.Contains($"injected crash in step {step}", failed.Reason);
        Assert.Contains("stay live", failed.Reason);
        Assert.Equal("v0001", _f.Registry.Live("generator")!.Version);
        Assert.Equal("v0001", _f.Registry.Live("detector")!.Version);
        Assert.Single(_f.Registry.Versions("generator"));
        Assert.Single(_f.Registry.Versions("detector"));
        Assert.Empty(_f.ScratchLeftovers());
        Assert.Empty(_f.Steps.Swaps);

        var next = await _f.Round().RunAsync("schedule", CancellationToken.None);
        Assert.Equal(RoundOutcome.Promoted, next.Outcome);
        Assert.Equal("v0002", _f.Registry.Live("generator")!.Version);
        Assert.Equal([RoundOutcome.Failed, RoundOutcome.Promoted], _f.Steps.Reports.Select(r => r.Outcome));
    }

    [Fact]
    public async Task Cancellation_mid_round_discards_the_candidate_and_leaves_the_live_models()
    {
        _f.Steps.BlockDetectorTraining = true;
        using var shutdown = new CancellationTokenSource();
        var round = _f.Round();
        var running = round.RunAsync("schedule", shutdown.Token);
        await _f.Steps.DetectorTrainingEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(round.IsRunning);
        Assert.NotEmpty(_f.ScratchLeftovers()); // the half-trained candidate exists...
        shutdown.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.Empty(_f.ScratchLeftovers()); // ...and is gone
        Assert.False(round.IsRunning);
        Assert.Single(_f.Registry.Versions("detector"));
        Assert.Equal("v0001", _f.Registry.Live("detector")!.Version);
        Assert.Empty(_f.Steps.Reports);
    }

    [Fact]
    public async Task A_corrupt_candidate_checkpoint_is_never_registered_or_promoted()
    {
        _f.Steps.CandidateDetectorWeights = ""; // the trainer "wrote" an empty weights file
        var report = await _f.Round().RunAsync("schedule", CancellationToken.None);

        Assert.Equal(RoundOutcome.Failed, report.Outcome);
        Assert.Contains("does not load", report.Reason);
        Assert.Single(_f.Registry.Versions("detector"));
        Assert.Equal("v0001", _f.Registry.Live("detector")!.Version);
        Assert.Equal("v0001", _f.Registry.Live("generator")!.Version);
        Assert.Empty(_f.Steps.Swaps);
    }

    [Fact]
    public async Task A_second_round_in_the_same_process_is_refused_while_one_runs()
    {
        _f.Steps.BlockDetectorTraining = true;
        using var cts = new CancellationTokenSource();
        var round = _f.Round();
        var first = round.RunAsync("schedule", cts.Token);
        await _f.Steps.DetectorTrainingEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<RoundAlreadyRunningException>(() => round.RunAsync("moderator:bob", CancellationToken.None));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal(1, _f.Steps.Samplings);
    }

    [Fact]
    public async Task Without_a_live_model_the_round_says_what_to_do()
    {
        using var empty = new Hub.ScratchDirectory();
        var registry = new global::GanBertBots.Training.Registry.ModelRegistry(Path.Combine(empty.Path, "r"));
        var round = new AdversarialRound(registry, _f.Options, _f.Steps, _f.Steps, _f.Steps, _f.Steps, new LiveModelSync(registry, _f.Steps), _f.Steps);
        var report = await round.RunAsync("schedule", CancellationToken.None);
        Assert.Equal(RoundOutcome.Failed, report.Outcome);
        Assert.Contains("there is no live generator", report.Reason);
        Assert.Equal(0, _f.Steps.Samplings);
    }

    [Fact]
    public void Held_out_split_depends_only_on_the_text()
    {
        var texts = Enumerable.Range(0, 2000).Select(i => $"tweet number {i}").ToList();
        var heldOut = texts.Where(t => LabelStoreRoundData.IsHeldOut(t, 0.2)).ToList();
        Assert.InRange(heldOut.Count, 330, 470); // ~20% of 2000
        Assert.Equal(heldOut, texts.Where(t => LabelStoreRoundData.IsHeldOut(t, 0.2)));
        Assert.All(heldOut, t => Assert.True(LabelStoreRoundData.IsHeldOut(t, 0.5))); // a larger share keeps the smaller one's texts
    }
}
