using System.Globalization;
using System.Text.Json;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Training.Rounds;

/// <summary>Thrown when a round is asked for while one is already running in this process.</summary>
public sealed class RoundAlreadyRunningException() : InvalidOperationException("a retraining round is already running");

/// <summary>
/// One adversarial round: (1) sample tweets from the live generator, (2) retrain the detector from the live one,
/// (3) fine-tune the generator against the new detector, (4) gate on held-out data, (5) register the candidates
/// and promote them only if the gate passes, then hot-swap, (6) report. Candidates are trained in a scratch folder
/// off the serving path; an exception or cancellation anywhere before promotion discards them and leaves the live
/// models untouched. One round at a time per process (a second caller gets <see cref="RoundAlreadyRunningException"/>).
/// </summary>
public sealed class AdversarialRound(
    ModelRegistry registry,
    RetrainingOptions options,
    IRoundDataSource data,
    IGeneratorSampler sampler,
    IDetectorTrainer detectorTrainer,
    IGeneratorTrainer generatorTrainer,
    LiveModelSync liveModels,
    IRoundNotifier notifier,
    ILogger<AdversarialRound>? log = null,
    TimeProvider? clock = null)
{
    readonly ILogger _log = log ?? NullLogger<AdversarialRound>.Instance;
    readonly TimeProvider _clock = clock ?? TimeProvider.System;
    readonly SemaphoreSlim _running = new(1, 1);

    /// <summary>True while a round runs in this process.</summary>
    public bool IsRunning => _running.CurrentCount == 0;

    /// <summary>
    /// Runs one round. Returns the report for Promoted, Rejected and Failed rounds (a failure is reported, not thrown,
    /// so the scheduler's next run is unaffected); throws <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public async Task<RoundReport> RunAsync(string requestedBy, CancellationToken cancellation)
    {
        if (!await _running.WaitAsync(0, CancellationToken.None)) throw new RoundAlreadyRunningException();
        try { return await RunExclusiveAsync(requestedBy, cancellation); }
        finally { _running.Release(); }
    }

    async Task<RoundReport> RunExclusiveAsync(string requestedBy, CancellationToken cancellation)
    {
        options.Validate();
        var started = _clock.GetUtcNow();
        string roundId = started.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        int seed = unchecked((int)(started.ToUnixTimeSeconds() & 0x7FFFFFFF));
        string scratch = Path.Combine(Path.GetFullPath(options.ScratchRoot), $"round-{roundId}-{Guid.NewGuid():N}"[..40]);
        var liveGenerator = registry.Live(ModelNames.Generator);
        var liveDetector = registry.Live(ModelNames.Detector);
        double Elapsed() => (_clock.GetUtcNow() - started).TotalSeconds;

        RoundReport Report(RoundOutcome outcome, string reason) => new()
        {
            RoundId = roundId, RequestedBy = requestedBy, StartedAt = started, FinishedAt = _clock.GetUtcNow(),
            Outcome = outcome, Reason = reason,
            LiveGeneratorVersion = liveGenerator?.Version, LiveDetectorVersion = liveDetector?.Version,
        };

        if (liveGenerator is null || liveDetector is null)
        {
            string missing = liveGenerator is null ? ModelNames.Generator : ModelNames.Detector;
            var refused = Report(RoundOutcome.Failed,
                $"there is no live {missing}: register and promote one first (models register {missing} DIR --promote)");
            await NotifyAsync(refused, cancellation);
            return refused;
        }

        _log.LogInformation("Retraining round {Round} requested by {By}: live generator {Generator}, live detector {Detector}",
            roundId, requestedBy, liveGenerator.Version, liveDetector.Version);
        try
        {
            Directory.CreateDirectory(scratch);
            string detectorOut = Sub(scratch, "detector"), generatorOut = Sub(scratch, "generator"), reportDir = Sub(scratch, "report");

            // 1. Samples from the live generator.
            var samples = await sampler.SampleAsync(liveGenerator.Directory, options.Samples, seed, cancellation);
            _log.LogInformation("Round {Round}: sampled {Count} tweets", roundId, samples.Count);

            // 2. Detector from the live one, with labels, unlabelled texts and the fresh samples. A share of the samples
            // (chosen by content hash, like the labelled texts) is held out as the generator's class, so the gate
            // judges both detectors on real and generated texts, not on whatever classes moderators happened to label.
            var (trainSamples, heldOutSamples) = SplitSamples(samples, options.HeldOutFraction);
            var roundData = await data.LoadAsync(cancellation);
            roundData = roundData with
            {
                HeldOut = roundData.HeldOut.Concat(heldOutSamples.Select(t => new WeightedText(t, options.GeneratorClass, 1.0, Detector.RoundDetectorTrainer.GeneratorSource))).ToList(),
            };
            _log.LogInformation("Round {Round}: {Labelled} labelled texts for training, {HeldOut} held out, {Unlabelled} unlabelled",
                roundId, roundData.Labelled.Count, roundData.HeldOut.Count, roundData.Unlabelled.Count);
            await detectorTrainer.TrainAsync(new DetectorTrainingRequest(liveDetector.Directory, detectorOut, roundData, trainSamples,
                options.GeneratorClass, reportDir, seed), cancellation);
            RequireCheckpoint(detectorOut, "detector trainer");
            _log.LogInformation("Round {Round}: detector trained ({Seconds:0.0} s into the round)", roundId, Elapsed());

            // 3. Generator against the new detector.
            await generatorTrainer.TrainAsync(new GeneratorTrainingRequest(liveGenerator.Directory, detectorOut, generatorOut, reportDir, seed),
                cancellation);
            RequireCheckpoint(generatorOut, "generator trainer");
            _log.LogInformation("Round {Round}: generator tuned ({Seconds:0.0} s into the round)", roundId, Elapsed());

            // 4. Gate on held-out data: live and candidate measured the same way, against the new detector.
            var metrics = new RoundMetrics(
                await detectorTrainer.EvaluateAsync(liveDetector.Directory, roundData.HeldOut, Sub(reportDir, "live"), cancellation),
                await detectorTrainer.EvaluateAsync(detectorOut, roundData.HeldOut, reportDir, cancellation),
                await generatorTrainer.EvaluateAsync(liveGenerator.Directory, detectorOut, seed, cancellation),
                await generatorTrainer.EvaluateAsync(generatorOut, detectorOut, seed, cancellation),
                samples.Count);
            var gate = Decide(metrics);
            _log.LogInformation("Round {Round}: evaluated ({Seconds:0.0} s into the round); {Gate}", roundId, Elapsed(), gate.Summary);

            // 5. Register (whatever the gate says: a refused candidate can still be promoted by hand), then promote.
            cancellation.ThrowIfCancellationRequested();
            // The candidate keeps its held-out figures in its config, as train-detector's detectors do: once served, /stats
            // and every verdict show them, and one no better than the majority class gives no verdict.
            if (metrics.CandidateDetector.Gate is { } figures)
                Detector.DetectorGate.Store(detectorOut, figures.WithMargin(options.MinMacroF1OverBaseline));
            var candidateDetector = registry.Register(ModelNames.Detector, detectorOut, new VersionMetadata
            {
                Source = $"round {roundId}", Notes = gate.Summary, Metrics = DetectorMetrics(metrics, gate),
            }, cancellation: cancellation);
            var candidateGenerator = registry.Register(ModelNames.Generator, generatorOut, new VersionMetadata
            {
                Source = $"round {roundId}", Notes = gate.Summary, Metrics = GeneratorMetrics(metrics, gate),
            }, cancellation: CancellationToken.None);

            // From here on the round finishes what it started: no cancellation between promotions.
            RoundOutcome outcome;
            string reason;
            if (gate.Passed)
            {
                PromotePair(candidateDetector, candidateGenerator, requestedBy);
                outcome = RoundOutcome.Promoted;
                reason = $"detector {candidateDetector.Version} and generator {candidateGenerator.Version} are live";
            }
            else
            {
                outcome = RoundOutcome.Rejected;
                reason = $"{gate.Summary}; detector {liveDetector.Version} and generator {liveGenerator.Version} stay live";
            }

            // 6. Report, kept with both versions.
            var report = Report(outcome, reason) with
            {
                CandidateDetectorVersion = candidateDetector.Version, CandidateGeneratorVersion = candidateGenerator.Version,
                Metrics = metrics, Gate = gate,
            };
            report = WriteReport(report, reportDir, metrics);
            registry.AttachReport(ModelNames.Generator, candidateGenerator.Version, reportDir);
            registry.AttachReport(ModelNames.Detector, candidateDetector.Version, reportDir);
            report = report with
            {
                ReportDirectory = candidateGenerator.ReportDirectory,
                Plots = report.Plots.Select(p => Path.Combine(candidateGenerator.ReportDirectory, Path.GetFileName(p))).ToList(),
            };

            if (outcome == RoundOutcome.Promoted) await liveModels.SyncAsync(CancellationToken.None);
            await NotifyAsync(report, CancellationToken.None);
            return report;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            _log.LogWarning("Round {Round} cancelled: candidate discarded, live models untouched", roundId);
            throw;
        }
        catch (Exception e)
        {
            _log.LogError(e, "Round {Round} failed: candidate discarded, live models untouched", roundId);
            var failed = Report(RoundOutcome.Failed,
                $"{e.GetType().Name}: {e.Message}; detector {liveDetector.Version} and generator {liveGenerator.Version} stay live");
            await NotifyAsync(failed, CancellationToken.None);
            return failed;
        }
        finally
        {
            DeleteScratch(scratch);
        }
    }

    /// <summary>How much higher a more accurate candidate's ECE may be before the report calls it worse calibrated.</summary>
    public const double CalibrationSlack = 0.02;

    /// <summary>Step 4: the gate, from the configured margin and factor.</summary>
    public GateDecision Decide(RoundMetrics m)
    {
        var reasons = new List<string>();
        double allowedF1 = m.LiveDetector.MacroF1 - options.MaxMacroF1Drop;
        double allowedPerplexity = m.LiveGenerator.Perplexity * options.MaxPerplexityFactor;
        bool f1Ok = double.IsFinite(m.CandidateDetector.MacroF1) && m.CandidateDetector.MacroF1 >= allowedF1 - 1e-12;
        bool pplOk = double.IsFinite(m.CandidateGenerator.Perplexity) && m.CandidateGenerator.Perplexity <= allowedPerplexity + 1e-12;
        reasons.Add(Invariant($"detector macro-F1 {m.CandidateDetector.MacroF1:0.000} vs live {m.LiveDetector.MacroF1:0.000} (may drop at most {options.MaxMacroF1Drop:0.000}): {(f1Ok ? "ok" : "too low")}"));
        bool baselineOk = true;
        if (m.CandidateDetector.Gate?.WithMargin(options.MinMacroF1OverBaseline) is { } judged)
        {
            // A detector no better than always answering the most frequent class is refused whatever the live one scored.
            baselineOk = judged.Passed;
            reasons.Add(Invariant($"detector macro-F1 {judged.MacroF1:0.000} vs majority baseline {judged.BaselineMacroF1:0.000} (must be above by more than {judged.Margin:0.000}): {(baselineOk ? "ok" : "too low")}"));
        }
        if (double.IsFinite(m.CandidateDetector.Ece) && double.IsFinite(m.LiveDetector.Ece))
        {
            bool worseCalibrated = m.CandidateDetector.Accuracy > m.LiveDetector.Accuracy && m.CandidateDetector.Ece > m.LiveDetector.Ece + CalibrationSlack;
            reasons.Add(Invariant($"detector calibration of P(person): ECE {m.LiveDetector.Ece:0.000} -> {m.CandidateDetector.Ece:0.000}, Brier {m.LiveDetector.Brier:0.000} -> {m.CandidateDetector.Brier:0.000}") +
                (worseCalibrated ? ": more accurate but worse calibrated" : ""));
        }
        reasons.Add(Invariant($"generator perplexity {m.CandidateGenerator.Perplexity:0.00} vs live {m.LiveGenerator.Perplexity:0.00} (at most x{options.MaxPerplexityFactor:0.00} = {allowedPerplexity:0.00}): {(pplOk ? "ok" : "too high")}"));
        reasons.Add(Invariant($"fool rate against the new detector {m.CandidateGenerator.FoolRate:0.0%} (live generator {m.LiveGenerator.FoolRate:0.0%})"));
        bool passed = f1Ok && pplOk && baselineOk;
        return new GateDecision(passed, passed ? reasons
            : reasons.Where(r => r.EndsWith("too low") || r.EndsWith("too high") || r.EndsWith("worse calibrated")).ToList());
    }

    /// <summary>Promotes the detector, then the generator; if the second fails, the first is rolled back so the pair stays consistent.</summary>
    void PromotePair(RegisteredVersion detector, RegisteredVersion generator, string by)
    {
        registry.Promote(ModelNames.Detector, detector.Version, by);
        try { registry.Promote(ModelNames.Generator, generator.Version, by); }
        catch
        {
            registry.Rollback(ModelNames.Detector, by);
            throw;
        }
    }

    /// <summary>The fresh samples split into training and held-out ones by <see cref="LabelStoreRoundData.IsHeldOut"/> (at least one of each when there are two or more).</summary>
    internal static (List<string> Train, List<string> HeldOut) SplitSamples(IReadOnlyList<string> samples, double heldOutFraction)
    {
        var train = new List<string>();
        var heldOut = new List<string>();
        foreach (var text in samples.Distinct(StringComparer.Ordinal))
            (LabelStoreRoundData.IsHeldOut(text, heldOutFraction) ? heldOut : train).Add(text);
        if (heldOutFraction > 0 && heldOut.Count == 0 && train.Count >= 2) { heldOut.Add(train[^1]); train.RemoveAt(train.Count - 1); }
        if (train.Count == 0 && heldOut.Count >= 2) { train.Add(heldOut[^1]); heldOut.RemoveAt(heldOut.Count - 1); }
        return (train, heldOut);
    }

    async Task NotifyAsync(RoundReport report, CancellationToken cancellation)
    {
        try { await notifier.RoundFinishedAsync(report, cancellation); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogError(e, "Posting the report of round {Round} failed", report.RoundId);
        }
    }

    RoundReport WriteReport(RoundReport report, string reportDir, RoundMetrics metrics)
    {
        var plots = new List<string>();
        var history = registry.Versions(ModelNames.Generator)
            .Where(v => v.Metrics.ContainsKey("perplexity") && v.Metrics.ContainsKey("fool_rate"))
            .ToList();
        plots.Add(RoundPlots.OverRounds(Path.Combine(reportDir, "fool_rate.png"), "Fool rate against that round's detector",
            "fool rate", history.Select(v => (v.Version, v.Metrics["fool_rate"], v.Metrics.GetValueOrDefault("promoted") > 0)).ToList(),
            RoundPlots.Rate));
        plots.Add(RoundPlots.OverRounds(Path.Combine(reportDir, "perplexity.png"), "Generator held-out perplexity",
            "perplexity", history.Select(v => (v.Version, v.Metrics["perplexity"], v.Metrics.GetValueOrDefault("promoted") > 0)).ToList()));
        if (metrics.CandidateDetector.ConfusionMatrixPng is { } confusion && File.Exists(confusion))
        {
            string target = Path.Combine(reportDir, "confusion_matrix.png");
            if (Path.GetFullPath(confusion) != Path.GetFullPath(target)) File.Copy(confusion, target, overwrite: true);
            plots.Add(target);
        }
        report = report with { Plots = plots };
        File.WriteAllText(Path.Combine(reportDir, "report.md"), report.ToMarkdown());
        File.WriteAllText(Path.Combine(reportDir, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN metrics (no held-out data)
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        }));
        return report;
    }

    static Dictionary<string, double> DetectorMetrics(RoundMetrics m, GateDecision gate)
    {
        var metrics = new Dictionary<string, double>(m.CandidateDetector.Extra)
        {
            ["macro_f1"] = m.CandidateDetector.MacroF1, ["accuracy"] = m.CandidateDetector.Accuracy,
            ["live_macro_f1"] = m.LiveDetector.MacroF1, ["promoted"] = gate.Passed ? 1 : 0,
        };
        if (double.IsFinite(m.CandidateDetector.BaselineMacroF1)) metrics["baseline_macro_f1"] = m.CandidateDetector.BaselineMacroF1;
        if (double.IsFinite(m.CandidateDetector.Ece)) metrics["ece"] = m.CandidateDetector.Ece;
        if (double.IsFinite(m.CandidateDetector.Brier)) metrics["brier"] = m.CandidateDetector.Brier;
        return metrics;
    }

    static Dictionary<string, double> GeneratorMetrics(RoundMetrics m, GateDecision gate)
    {
        var metrics = new Dictionary<string, double>(m.CandidateGenerator.Extra)
        {
            ["perplexity"] = m.CandidateGenerator.Perplexity, ["fool_rate"] = m.CandidateGenerator.FoolRate,
            ["live_perplexity"] = m.LiveGenerator.Perplexity, ["live_fool_rate"] = m.LiveGenerator.FoolRate,
            ["samples"] = m.Samples, ["promoted"] = gate.Passed ? 1 : 0,
        };
        return metrics;
    }

    static void RequireCheckpoint(string directory, string who)
    {
        if (!Directory.Exists(directory) || !Directory.EnumerateFileSystemEntries(directory).Any())
            throw new InvalidOperationException($"the {who} wrote no checkpoint into {directory}");
    }

    static string Sub(string parent, string name)
    {
        string path = Path.Combine(parent, name);
        Directory.CreateDirectory(path);
        return path;
    }

    void DeleteScratch(string scratch)
    {
        try { if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning(e, "Could not remove the round's scratch folder {Scratch}", scratch);
        }
    }

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
