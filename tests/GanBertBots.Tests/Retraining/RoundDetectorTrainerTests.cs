using System.Security.Cryptography;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Tests.Detector;
using GanBertBots.Training.Detector;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Retraining;

/// <summary>
/// The detector step of the round on a tiny detector (1 layer, 16 wide) over the synthetic two-vocabulary task of
/// <see cref="SyntheticDetector"/>: "human" texts use one word set, "gpt2" texts another.
/// The live detectors are seeded through torch's process-wide generator (SyntheticDetector.Untrained), which
/// parallel test classes also draw from: the class runs alone, like the other seed-dependent detector tests.
/// </summary>
[Collection(GanBertBots.Tests.Detector.TorchRandomSequence.Name)]
public sealed class RoundDetectorTrainerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("round-detector").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// An untrained detector (classes human, gpt2, dolly) saved as a checkpoint folder: the "live" one. Its weights are
    /// BERT's small initial values, so it answers almost the same for every text; <paramref name="spread"/> multiplies
    /// the encoder's and the head's weights so that its answers vary from text to text.
    /// </summary>
    string LiveDetector(int seed, string name = "live", float spread = 1)
    {
        string dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        string vocab = SyntheticDetector.WriteVocab(dir);
        var (network, config, _) = SyntheticDetector.Untrained(vocab, seed);
        using (network)
        {
            if (spread != 1)
                using (no_grad())
                    foreach (var p in network.parameters()) p.mul_(spread);
            DetectorCheckpoint.Save(dir, config with { ModelVersion = $"live-{seed}" }, network, vocab);
        }
        return dir;
    }

    static List<WeightedText> Labelled(int count, int seed, string source = "moderator", double weight = 1) =>
        SyntheticDetector.Rows(count, seed).Select(r => new WeightedText(r.Text, r.Label!, weight, source)).ToList();

    DetectorTrainingRequest Request(string live, RoundData data, IReadOnlyList<string>? samples = null, string generatorClass = "gpt2",
        string name = "candidate", int seed = 5) =>
        new(live, Path.Combine(_dir, name), data, samples ?? [], generatorClass, Path.Combine(_dir, name + "-report"), seed);

    /// <param name="calibration">The calibration share; 0 unless a test is about it, so every labelled row trains.</param>
    static RoundDetectorTrainer Trainer(int epochs = 1, double? lr = null, int batch = 16, int maxUnlabelled = 5000, double calibration = 0) =>
        new(new RoundDetectorOptions { Epochs = epochs, LearningRate = lr, BatchSize = batch, MaxUnlabelled = maxUnlabelled, CalibrationFraction = calibration },
            TorchPlacement.Cpu);

    static Dictionary<string, byte[]> FolderBytes(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    static Dictionary<string, float[]> Weights(string dir)
    {
        var config = DetectorCheckpoint.ReadConfig(dir);
        using var network = DetectorCheckpoint.LoadNetwork(dir, config, TorchPlacement.Cpu);
        return network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().data<float>().ToArray());
    }

    static double MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b) =>
        a.Keys.Max(k => a[k].Zip(b[k], (x, y) => Math.Abs((double)x - y)).Max());

    [Fact]
    public async Task The_candidate_starts_from_the_live_weights_and_the_live_folder_is_untouched()
    {
        string live = LiveDetector(seed: 1);
        string other = LiveDetector(seed: 2, name: "other");
        var liveBytes = FolderBytes(live);
        var data = new RoundData(Labelled(40, seed: 3), ["apple vector the", "robot quiet"], Labelled(10, seed: 4));
        var request = Request(live, data, samples: ["neural token matrix", "signal binary"]);

        await Trainer(epochs: 1, lr: 1e-12).TrainAsync(request, CancellationToken.None);

        // With a vanishing learning rate the candidate is the live detector: a trainer that started from fresh
        // weights would be as far from it as another random network is.
        var liveWeights = Weights(live);
        Assert.True(MaxDifference(liveWeights, Weights(request.OutputDirectory)) < 1e-6);
        Assert.True(MaxDifference(liveWeights, Weights(other)) > 1e-2);
        Assert.Equal(liveBytes, FolderBytes(live));

        var config = DetectorCheckpoint.ReadConfig(request.OutputDirectory);
        Assert.Equal(["human", "gpt2", "dolly"], config.Classes);
        Assert.Matches(@"^round-\d{8}T\d{6}Z$", config.ModelVersion);
        Assert.Equal("live-1", config.Training["warm_start"]!.GetValue<string>());
        Assert.Equal(40, config.Training["rows"]!["moderator"]!.GetValue<int>());
        Assert.Equal(2, config.Training["rows"]!["generator"]!.GetValue<int>());
        Assert.Equal(2, config.Training["rows"]!["unlabelled"]!.GetValue<int>());
        Assert.Equal(1e-12, config.Training["learning_rate"]!.GetValue<double>());
        Assert.Equal(liveBytes["vocab.txt"], File.ReadAllBytes(Path.Combine(request.OutputDirectory, "vocab.txt")));
        var curves = new FileInfo(Path.Combine(request.ReportDirectory, RoundDetectorTrainer.TrainingCurvesFile));
        Assert.True(curves.Exists && curves.Length > 1000);
    }

    [Fact]
    public async Task The_candidate_learns_the_task_the_live_detector_does_not_know()
    {
        string live = LiveDetector(seed: 3);
        var train = Labelled(160, seed: 1);
        var heldOut = Labelled(60, seed: 2);
        var unlabelled = SyntheticDetector.Rows(40, seed: 9).Select(r => r.Text).ToList();
        var request = Request(live, new RoundData(train, unlabelled, heldOut));
        var trainer = Trainer(epochs: 6, lr: 1e-2);

        await trainer.TrainAsync(request, CancellationToken.None);
        var before = await trainer.EvaluateAsync(live, heldOut, Path.Combine(_dir, "eval-live"), CancellationToken.None);
        var after = await trainer.EvaluateAsync(request.OutputDirectory, heldOut, Path.Combine(_dir, "eval-candidate"), CancellationToken.None);

        Assert.True(after.Accuracy >= 0.9, $"candidate accuracy {after.Accuracy:F3}");
        Assert.True(after.Accuracy > before.Accuracy, $"candidate {after.Accuracy:F3} vs live {before.Accuracy:F3}");
        Assert.True(after.MacroF1 > before.MacroF1);
        Assert.True(after.Extra["recall_human"] >= 0.8);
    }

    [Fact]
    public async Task A_class_whose_labels_all_weigh_zero_is_not_learned()
    {
        string live = LiveDetector(seed: 4);
        var heldOut = Labelled(60, seed: 2);
        async Task<DetectorScore> TrainWithHumanWeight(double weight, string name)
        {
            var train = Labelled(160, seed: 1).Select(r => r.Class == "human" ? r with { Weight = weight } : r).ToList();
            var trainer = Trainer(epochs: 6, lr: 1e-2);
            var request = Request(live, new RoundData(train, [], heldOut), name: name);
            await trainer.TrainAsync(request, CancellationToken.None);
            return await trainer.EvaluateAsync(request.OutputDirectory, heldOut, request.ReportDirectory, CancellationToken.None);
        }

        var counted = await TrainWithHumanWeight(1, "counted");
        var ignored = await TrainWithHumanWeight(0, "ignored");
        Assert.True(counted.Extra["recall_human"] >= 0.8, $"recall_human {counted.Extra["recall_human"]:F3} with weight 1");
        Assert.True(ignored.Extra["recall_human"] <= 0.2, $"recall_human {ignored.Extra["recall_human"]:F3} with weight 0");
    }

    [Fact]
    public async Task Classes_outside_the_live_class_set_and_bad_weights_are_refused_by_name()
    {
        string live = LiveDetector(seed: 5);
        var good = Labelled(8, seed: 1);
        var trainer = Trainer();

        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => trainer.TrainAsync(
            Request(live, new RoundData([.. good, new WeightedText("some llama text", "llama", 1, "moderator")], [], [])), CancellationToken.None));
        Assert.Contains("'llama'", unknown.Message);
        Assert.Contains("human, gpt2, dolly", unknown.Message);

        var generator = await Assert.ThrowsAsync<ArgumentException>(() => trainer.TrainAsync(
            Request(live, new RoundData(good, [], []), samples: ["vector"], generatorClass: "gpt3"), CancellationToken.None));
        Assert.Contains("'gpt3'", generator.Message);

        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, -0.5 })
        {
            var rows = good.Select((r, i) => i == 3 ? r with { Weight = bad, Source = "user_feedback" } : r).ToList();
            var e = await Assert.ThrowsAsync<ArgumentException>(() => trainer.TrainAsync(
                Request(live, new RoundData(rows, [], [])), CancellationToken.None));
            Assert.Contains($"labelled text 3 (class '{rows[3].Class}', source 'user_feedback') has weight {bad}", e.Message);
        }
        Assert.False(Directory.Exists(Path.Combine(_dir, "candidate")) && Directory.EnumerateFileSystemEntries(Path.Combine(_dir, "candidate")).Any());
    }

    [Fact]
    public async Task Cancellation_during_training_throws_and_writes_no_candidate()
    {
        string live = LiveDetector(seed: 6);
        var liveBytes = FolderBytes(live);
        var request = Request(live, new RoundData(Labelled(64, seed: 1), [], []));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        // 100,000 epochs cannot finish: only the token can end this.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Trainer(epochs: 100_000).TrainAsync(request, cts.Token));
        Assert.False(File.Exists(Path.Combine(request.OutputDirectory, DetectorCheckpoint.ConfigFile)));
        Assert.Equal(liveBytes, FolderBytes(live));
    }

    [Fact]
    public async Task Evaluation_matches_accuracy_and_macro_f1_computed_from_the_detectors_own_answers()
    {
        string live = LiveDetector(seed: 7, spread: 20);
        var heldOut = Labelled(30, seed: 8)
            .Concat(Labelled(6, seed: 9).Select(r => r with { Class = "dolly" }))
            .Append(new WeightedText("apple robot", "llama", 1, "moderator"))   // not a detector class: in the matrix, not scored
            .Append(new WeightedText("   ", "human", 1, "moderator"))           // empty: skipped
            .ToList();
        string report = Path.Combine(_dir, "eval");

        var evaluation = await Trainer().EvaluateAsync(live, heldOut, report, CancellationToken.None);

        // Independently: the detector's answers, then accuracy and macro-F1 by counting.
        using var detector = GanBertDetector.Load(live, TorchPlacement.Cpu);
        var scored = heldOut.Where(r => r.Class != "llama" && r.Text.Trim().Length > 0).ToList();
        var predicted = detector.Detect(scored.Select(r => r.Text).ToList()).Select(d => d.Label).ToList();
        Assert.True(predicted.Distinct().Count() == 3, $"the fixed detector should answer every class, or the check is weak: {string.Join(", ", predicted.Distinct())}");
        double accuracy = scored.Where((r, i) => predicted[i] == r.Class).Count() / (double)scored.Count;
        var f1 = new Dictionary<string, double>();
        var recall = new Dictionary<string, double>();
        foreach (string c in scored.Select(r => r.Class).Distinct())
        {
            int tp = scored.Where((r, i) => r.Class == c && predicted[i] == c).Count();
            int fp = scored.Where((r, i) => r.Class != c && predicted[i] == c).Count();
            int fn = scored.Where((r, i) => r.Class == c && predicted[i] != c).Count();
            double p = tp + fp == 0 ? 0 : tp / (double)(tp + fp), rc = tp / (double)(tp + fn);
            f1[c] = p + rc == 0 ? 0 : 2 * p * rc / (p + rc);
            recall[c] = rc;
        }
        Assert.Equal(accuracy, evaluation.Accuracy, 12);
        Assert.Equal(f1.Values.Average(), evaluation.MacroF1, 12);
        Assert.Equal(36, evaluation.Extra["texts"]);
        Assert.Equal(1, evaluation.Extra["out_of_set"]);
        Assert.Equal(1, evaluation.Extra["skipped_empty"]);
        foreach (var (c, r) in recall) Assert.Equal(r, evaluation.Extra["recall_" + c], 12);
        Assert.Equal(3, recall.Count);

        Assert.Equal(Path.Combine(report, RoundDetectorTrainer.ConfusionMatrixFile), evaluation.ConfusionMatrixPng);
        var png = File.ReadAllBytes(evaluation.ConfusionMatrixPng!);
        Assert.True(png.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    [Fact]
    public async Task An_empty_held_out_set_gives_not_a_number()
    {
        string live = LiveDetector(seed: 8);
        var evaluation = await Trainer().EvaluateAsync(live, [], Path.Combine(_dir, "eval"), CancellationToken.None);
        Assert.True(double.IsNaN(evaluation.Accuracy));
        Assert.True(double.IsNaN(evaluation.MacroF1));
        Assert.Equal(0, evaluation.Extra["texts"]);
    }

    [Fact]
    public void Composition_keeps_held_out_texts_out_caps_unlabelled_texts_by_seed_and_counts_sources()
    {
        var heldOut = Labelled(5, seed: 2);
        var labelled = Labelled(10, seed: 1).Append(heldOut[0] with { Source = "game_guess", Weight = 0.25 }).ToList();
        labelled[0] = labelled[0] with { Source = "user_feedback", Weight = 0.5 };
        var unlabelled = Enumerable.Range(0, 50).Select(i => $"text {i}").Append(heldOut[1].Text).Append(" ").ToList();
        var data = new RoundData(labelled, unlabelled, heldOut);
        string[] classes = ["human", "gpt2", "dolly"];

        var set = RoundDetectorTrainer.Compose(classes, Request("live", data, samples: ["robot", heldOut[2].Text], seed: 1), maxUnlabelled: 20);
        var again = RoundDetectorTrainer.Compose(classes, Request("live", data, samples: ["robot", heldOut[2].Text], seed: 1), maxUnlabelled: 20);
        var otherSeed = RoundDetectorTrainer.Compose(classes, Request("live", data, samples: ["robot", heldOut[2].Text], seed: 2), maxUnlabelled: 20);

        var heldTexts = heldOut.Select(h => h.Text).ToHashSet();
        Assert.DoesNotContain(set.Rows, r => heldTexts.Contains(r.Text));
        Assert.Equal(9, set.RowsBySource["moderator"]);
        Assert.Equal(1, set.RowsBySource["user_feedback"]);
        Assert.False(set.RowsBySource.ContainsKey("game_guess"));        // its only text is a held-out text
        Assert.Equal(1, set.RowsBySource["generator"]);
        Assert.Equal(0.5, set.WeightBySource["user_feedback"]);
        Assert.Equal(9, set.WeightBySource["moderator"]);
        Assert.Equal(52, set.UnlabelledAvailable);
        var chosen = set.Rows.Where(r => r.Source == "unlabelled").Select(r => r.Text).ToList();
        Assert.True(chosen.Count <= 20);
        Assert.Equal(chosen, again.Rows.Where(r => r.Source == "unlabelled").Select(r => r.Text));
        Assert.NotEqual(chosen, otherSeed.Rows.Where(r => r.Source == "unlabelled").Select(r => r.Text));
        // The capped choice may have drawn the held-out text or the empty one: they are counted, not trained on.
        Assert.Equal(20, chosen.Count + (set.SkippedHeldOut - 2) + set.SkippedEmpty);
        Assert.All(set.Rows.Where(r => r.Source == "unlabelled"), r => Assert.Equal(-1, r.ClassIndex));
        Assert.All(set.Rows.Where(r => r.Source == "generator"), r => Assert.Equal((1, 1.0), (r.ClassIndex, r.Weight)));
    }

    [Fact]
    public void Options_refuse_bad_values_naming_the_key()
    {
        Assert.Contains("Retraining:Detector:Epochs", Assert.Throws<ArgumentException>(() => new RoundDetectorOptions { Epochs = 0 }.Validate()).Message);
        Assert.Contains("Retraining:Detector:BatchSize", Assert.Throws<ArgumentException>(() => new RoundDetectorOptions { BatchSize = 0 }.Validate()).Message);
        Assert.Contains("Retraining:Detector:LearningRate", Assert.Throws<ArgumentException>(() => new RoundDetectorOptions { LearningRate = double.NaN }.Validate()).Message);
        Assert.Contains("Retraining:Detector:MaxUnlabelled", Assert.Throws<ArgumentException>(() => new RoundDetectorOptions { MaxUnlabelled = -1 }.Validate()).Message);
        Assert.Equal(5e-4, new RoundDetectorOptions().LearningRateFor("small"));
        Assert.Equal(2e-5, new RoundDetectorOptions().LearningRateFor("bert"));
    }

    [Fact]
    public void The_appsettings_defaults_bind_to_the_class_defaults()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GanBertBots.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(dir!.FullName, "appsettings.json")).Build();
        var section = configuration.GetSection(RoundDetectorOptions.Section);
        Assert.True(section.Exists());
        var bound = new RoundDetectorOptions { LearningRate = 0.5, Epochs = 99 };
        section.Bind(bound);
        var defaults = new RoundDetectorOptions();
        Assert.Equal((defaults.Epochs, defaults.BatchSize, defaults.LearningRate, defaults.MaxUnlabelled, defaults.CalibrationFraction),
            (bound.Epochs, bound.BatchSize, bound.LearningRate, bound.MaxUnlabelled, bound.CalibrationFraction));
    }

    [Fact]
    public void The_registry_loads_a_detector_before_registering_it_and_refuses_truncated_weights()
    {
        string live = LiveDetector(seed: 9);
        var registry = new ModelRegistry(Path.Combine(_dir, "registry"), CheckpointValidators.Default().Validator);
        Assert.Equal("v0001", registry.Register(ModelNames.Detector, live).Version);

        string weights = Path.Combine(live, DetectorCheckpoint.WeightsFile);
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length - 64)]);
        var e = Assert.Throws<RegistryException>(() => registry.Register(ModelNames.Detector, live));
        Assert.Contains("does not load", e.Message);
        Assert.Single(registry.Versions(ModelNames.Detector));
    }

    [Fact]
    public void The_calibration_share_is_strongly_labelled_texts_chosen_by_hash_and_never_trained_on()
    {
        var classes = new[] { "human", "gpt2", "dolly" };
        var moderator = Labelled(200, seed: 21);
        var feedback = Labelled(60, seed: 22, source: "user_feedback", weight: 0.3);
        var heldOut = Labelled(20, seed: 23);
        var samples = SyntheticDetector.Rows(40, seed: 24).Select(r => r.Text + " robot").ToList();
        var data = new RoundData(moderator.Concat(feedback).ToList(), [], heldOut);
        var set = RoundDetectorTrainer.Compose(classes, Request("live", data, samples: samples), maxUnlabelled: 0, calibrationFraction: 0.3);

        bool Held(string t) => heldOut.Any(h => h.Text == t);
        var expected = moderator.Where(r => !Held(r.Text) && LabelStoreRoundData.IsCalibration(r.Text, 0.3)).Select(r => (r.Text, r.Class))
            .Concat(samples.Where(t => !Held(t) && LabelStoreRoundData.IsCalibration(t, 0.3)).Select(t => (t, "gpt2"))).ToList();
        Assert.InRange(expected.Count, 40, 90); // about 30% of 240
        Assert.Equal(expected.OrderBy(x => x.Item1, StringComparer.Ordinal), set.Calibration.Select(c => (c.Text, c.Label!)).OrderBy(x => x.Item1, StringComparer.Ordinal));
        var trained = set.Rows.Select(r => r.Text).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(set.Calibration, c => trained.Contains(c.Text) && !feedback.Any(f => f.Text == c.Text));
        // Weak labels train even where their text hashes into the share.
        Assert.Equal(feedback.Count(f => !Held(f.Text)), set.Rows.Count(r => r.Source == "user_feedback"));
        Assert.Contains(feedback, f => LabelStoreRoundData.IsCalibration(f.Text, 0.3));
        // The share is independent of the held-out split: about 30% of held-out-side texts would be in it too.
        Assert.Empty(RoundDetectorTrainer.Compose(classes, Request("live", data, samples: samples), 0, calibrationFraction: 0).Calibration);
    }

    [Fact]
    public async Task A_candidate_is_calibrated_on_its_share_and_live_fusion_weights_are_not_carried_over()
    {
        string live = LiveDetector(seed: 3);
        new DetectorCalibration { Temperature = 3, MinimumTokensAccuracy = 0.8, Fusion = new FusionWeights(0.1, 1, 2) }.Write(live);
        var data = new RoundData(Labelled(200, seed: 1), SyntheticDetector.Rows(20, seed: 9).Select(r => r.Text).ToList(), Labelled(40, seed: 2));
        var request = Request(live, data);
        await Trainer(epochs: 4, lr: 1e-2, calibration: 0.3).TrainAsync(request, CancellationToken.None);

        var facts = DetectorCheckpoint.ReadConfig(request.OutputDirectory).Training["calibration"]!;
        Assert.True(facts["calibrated"]!.GetValue<bool>());
        Assert.True(facts["fusion_dropped"]!.GetValue<bool>());
        var written = DetectorCalibration.Read(request.OutputDirectory)!;
        Assert.Null(written.Fusion);
        Assert.Equal(0.8, written.MinimumTokensAccuracy);
        Assert.Equal("round", written.Figures["fitted_by"]!.GetValue<string>());

        // The same fit, done again from the saved candidate over the share Compose names, gives the same temperature.
        var share = RoundDetectorTrainer.Compose(["human", "gpt2", "dolly"], request, maxUnlabelled: 0, calibrationFraction: 0.3).Calibration;
        Assert.Equal(share.Count, facts["texts"]!.GetValue<int>());
        using var candidate = GanBertDetector.Load(request.OutputDirectory, TorchPlacement.Cpu);
        var (again, _) = DetectorCalibrationFit.Fit(candidate, share, 0.8);
        Assert.Equal(again.Temperature, written.Temperature, 6);
        Assert.NotEqual(3.0, written.Temperature);
    }

    [Fact]
    public async Task A_share_too_small_or_one_sided_leaves_the_candidate_uncalibrated_and_says_why()
    {
        string live = LiveDetector(seed: 4);
        var humansOnly = Labelled(200, seed: 5).Where(r => r.Class == "human").ToList();
        var request = Request(live, new RoundData(humansOnly, [], Labelled(10, seed: 6)));
        await Trainer(calibration: 0.5).TrainAsync(request, CancellationToken.None);

        Assert.Null(DetectorCalibration.Read(request.OutputDirectory));
        var facts = DetectorCheckpoint.ReadConfig(request.OutputDirectory).Training["calibration"]!;
        Assert.False(facts["calibrated"]!.GetValue<bool>());
        Assert.Contains("needs 20 with both", facts["reason"]!.GetValue<string>());
        Assert.False(facts["fusion_dropped"]!.GetValue<bool>());
    }
}

/// <summary>The weighted supervised loss against hand computation, and exactly the old numbers without weights.</summary>
public sealed class WeightedSupervisedLossTests
{
    static Tensor Logits() => tensor(new float[] { 1, 2, 0, /**/ 0, 0, 1, /**/ 3, 1, 0, /**/ 0.5f, -1, 2 }, new long[] { 4, 3 });

    [Fact]
    public void Weighted_loss_is_the_weighted_mean_of_the_labelled_rows_cross_entropies()
    {
        using var scope = NewDisposeScope();
        var logits = Logits().requires_grad_(true);
        var labels = tensor(new long[] { 1, 0, 1, 0 });
        var mask = tensor(new[] { true, true, true, false });             // row 3 is unlabelled: its weight 7 is ignored
        var weights = tensor(new float[] { 2, 0.5f, 0, 7 });
        var loss = GanBertLosses.Supervised(logits, labels, mask, weights);

        // CE over the k = 2 real logits: row 0 [1, 2] class 1: log(1 + e^-1); row 1 [0, 0] class 0: log 2; row 2 weight 0.
        double ce0 = Math.Log(1 + Math.Exp(-1)), ce1 = Math.Log(2);
        double expected = (2 * ce0 + 0.5 * ce1) / 2.5;
        Assert.Equal(expected, loss.item<float>(), 6);

        // d/dlogit: w_i/Σw · (softmax − onehot) on the real logits; 0 for weight 0, unlabelled rows and the fake logit.
        loss.backward();
        var g = logits.grad!.data<float>().ToArray();
        double s0 = 1 / (1 + Math.E);                                    // softmax([1, 2])[0]
        Assert.Equal(2 / 2.5 * s0, g[0], 6);
        Assert.Equal(2 / 2.5 * (1 - s0 - 1), g[1], 6);
        Assert.Equal(0.5 / 2.5 * (0.5 - 1), g[3], 6);
        Assert.Equal(0.5 / 2.5 * 0.5, g[4], 6);
        Assert.All(new[] { g[2], g[5], g[6], g[7], g[8], g[9], g[10], g[11] }, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Weights_of_one_give_exactly_the_unweighted_loss_and_gradient()
    {
        using var scope = NewDisposeScope();
        var labels = tensor(new long[] { 1, 0, 1, 0 });
        var mask = tensor(new[] { true, false, true, true });
        (float, float[]) Run(Tensor? weights)
        {
            var logits = Logits().requires_grad_(true);
            var loss = GanBertLosses.Supervised(logits, labels, mask, weights);
            loss.backward();
            return (loss.item<float>(), logits.grad!.data<float>().ToArray());
        }
        var (plain, plainGrad) = Run(null);
        var (weighted, weightedGrad) = Run(ones(4));
        Assert.Equal(plain, weighted);
        Assert.Equal(plainGrad, weightedGrad);
    }

    [Fact]
    public void All_zero_weights_give_zero_loss_with_zero_gradient()
    {
        using var scope = NewDisposeScope();
        var logits = Logits().requires_grad_(true);
        var loss = GanBertLosses.Supervised(logits, tensor(new long[] { 1, 0, 1, 0 }), tensor(new[] { true, true, false, false }), zeros(4));
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
        Assert.All(logits.grad!.data<float>().ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void An_optimisation_step_with_weights_of_one_moves_every_parameter_exactly_as_without_weights()
    {
        string dir = Directory.CreateTempSubdirectory("weighted-step").FullName;
        try
        {
            string vocab = SyntheticDetector.WriteVocab(dir);
            var (network, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 11, dropout: 0);
            using var _ = network;
            using var scope = NewDisposeScope();
            var (ids, mask) = TokenBatch.Create(new[] { "apple river", "vector neural", "the robot", "quiet" }.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
            var labels = tensor(new long[] { 0, 1, 2, 0 });
            var labelMask = tensor(new[] { true, true, false, true });
            var start = network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

            Dictionary<string, float[]> Run(Tensor? weights, out StepLosses losses)
            {
                using (no_grad()) foreach (var (name, p) in network.named_parameters()) p.copy_(start[name]);
                using var noise = new torch.Generator(5);
                using var opt = new GanBertOptimisation(network, 1e-2, 1e-2, adversarial: true, noise);
                losses = opt.Step(ids, mask, labels, labelMask, StepParts.Both, weights);
                return network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().data<float>().ToArray());
            }
            var plain = Run(null, out var plainLosses);
            var ones = Run(torch.ones(4), out var onesLosses);
            var weighted = Run(tensor(new float[] { 3, 1, 1, 0.1f }), out var weightedLosses);
            Assert.Equal(plainLosses, onesLosses);
            Assert.All(plain.Keys, k => Assert.Equal(plain[k], ones[k]));
            Assert.NotEqual(plainLosses.Supervised, weightedLosses.Supervised);   // the weights do reach the step
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

/// <summary>What the round does with the detector step's NaN metrics (no held-out texts yet).</summary>
public sealed class RoundWithoutHeldOutDataTests : IDisposable
{
    readonly RoundFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Not_a_number_metrics_are_refused_by_the_gate_and_still_registered_and_reported()
    {
        _f.Steps.LiveF1 = double.NaN;
        _f.Steps.CandidateF1 = double.NaN;
        var report = await _f.Round().RunAsync("schedule", CancellationToken.None);

        Assert.Equal(RoundOutcome.Rejected, report.Outcome);
        Assert.Equal("v0001", _f.Registry.Live(ModelNames.Detector)!.Version);
        var candidate = _f.Registry.Get(ModelNames.Detector, "v0002");
        Assert.True(double.IsNaN(candidate.Metrics["macro_f1"]));
        Assert.Contains("NaN", File.ReadAllText(Path.Combine(candidate.ReportDirectory, "report.json")));
    }
}
