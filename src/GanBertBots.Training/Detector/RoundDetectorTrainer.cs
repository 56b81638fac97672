using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GanBertBots.Models;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Training.Rounds;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Training.Detector;

/// <summary>How the nightly round retrains the detector; bound from appsettings <c>Retraining:Detector</c>.</summary>
public sealed class RoundDetectorOptions
{
    public const string Section = "Retraining:Detector";

    /// <summary>Passes over the round's rows.</summary>
    public int Epochs { get; set; } = 2;
    /// <summary>Rows per optimisation step (and texts per forward pass when evaluating).</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Encoder + discriminator (and generator) learning rate; null = 5e-4 for the small backbone, 2e-5 for
    /// pretrained encoders (fine-tuning from the live detector).</summary>
    public double? LearningRate { get; set; }
    /// <summary>Unlabelled texts used per round at most (GAN-BERT unlabelled term); 0 = none.</summary>
    public int MaxUnlabelled { get; set; } = 5000;
    /// <summary>Share of the round's steps with a linear warm-up, then linear decay; null = 0.1 for pretrained encoders, a constant rate for the small backbone.</summary>
    public double? Warmup { get; set; }
    /// <summary>AdamW weight decay on weight matrices and embeddings (never biases or LayerNorm).</summary>
    public double WeightDecay { get; set; } = 0.01;
    /// <summary>Layer-wise learning-rate decay: layer l of L gets lr·X^(L−l), the embeddings lr·X^L; 1 = off.</summary>
    public double LayerLrDecay { get; set; } = 1.0;
    /// <summary>Train the head only; the live detector's encoder is kept as it is.</summary>
    public bool FreezeEncoder { get; set; }
    /// <summary>Share of the strongly labelled texts (moderator, corpus, generator samples; chosen by content hash) kept out
    /// of training to fit the candidate's calibration.json (temperature and short-text limit); 0 = the candidate ships
    /// uncalibrated.</summary>
    public double CalibrationFraction { get; set; } = 0.15;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"{Section}:Epochs must be at least 1 (got {Epochs})");
        if (BatchSize < 1) throw new ArgumentException($"{Section}:BatchSize must be at least 1 (got {BatchSize})");
        if (LearningRate is { } lr && !(double.IsFinite(lr) && lr > 0))
            throw new ArgumentException($"{Section}:LearningRate must be a positive number or empty for the default (got {lr})");
        if (MaxUnlabelled < 0) throw new ArgumentException($"{Section}:MaxUnlabelled must be 0 or more (got {MaxUnlabelled})");
        if (Warmup is { } w && !(w is >= 0 and < 1)) throw new ArgumentException($"{Section}:Warmup must be a fraction in [0, 1) or empty for the default (got {w})");
        if (!(double.IsFinite(WeightDecay) && WeightDecay >= 0)) throw new ArgumentException($"{Section}:WeightDecay must be 0 or more (got {WeightDecay})");
        if (!(LayerLrDecay is > 0 and <= 1)) throw new ArgumentException($"{Section}:LayerLrDecay must be in (0, 1] (got {LayerLrDecay})");
        if (!(CalibrationFraction is >= 0 and < 1)) throw new ArgumentException($"{Section}:CalibrationFraction must be a fraction in [0, 1) (got {CalibrationFraction})");
    }

    /// <summary>The optimiser's recipe for a detector of this backbone.</summary>
    public FineTuningRecipe RecipeFor(string backbone)
    {
        double lr = LearningRateFor(backbone);
        var recipe = backbone == "small" ? FineTuningRecipe.ForSmall(lr) : FineTuningRecipe.ForPretrained(lr);
        if (Warmup is { } w) recipe = recipe with { Schedule = LearningRateSchedule.Linear, WarmupFraction = w };
        return recipe with { WeightDecay = WeightDecay, LayerLearningRateDecay = LayerLrDecay, FreezeEncoder = FreezeEncoder };
    }

    /// <summary>The learning rate for a detector of this backbone.</summary>
    public double LearningRateFor(string backbone) => LearningRate ?? (backbone == "small" ? 5e-4 : 2e-5);
}

/// <summary>One row of a round's detector training: a class index (-1 = unlabelled) and the weight of its supervised loss.</summary>
public sealed record RoundTrainingRow(string Text, int ClassIndex, double Weight, string Source);

/// <summary>What a round trains the detector on, and what was left out and why.</summary>
/// <param name="RowsBySource">Rows kept per source (moderator, user_feedback, game_guess, generator, unlabelled).</param>
/// <param name="WeightBySource">Sum of the kept labelled rows' weights per source.</param>
/// <param name="SkippedHeldOut">Rows whose text is also a held-out text (never trained on).</param>
/// <param name="SkippedEmpty">Rows with empty or white-space text.</param>
/// <param name="UnlabelledAvailable">Unlabelled texts offered before the cap.</param>
public sealed record RoundTrainingSet(
    IReadOnlyList<RoundTrainingRow> Rows, IReadOnlyDictionary<string, int> RowsBySource, IReadOnlyDictionary<string, double> WeightBySource,
    int SkippedHeldOut, int SkippedEmpty, int UnlabelledAvailable)
{
    /// <summary>Strongly labelled texts kept out of training to calibrate the candidate (see <see cref="RoundDetectorOptions.CalibrationFraction"/>).</summary>
    public IReadOnlyList<LabelledText> Calibration { get; init; } = [];
}

/// <summary>
/// The detector's steps of the adversarial round. Training (step 2) warm-starts from the live detector's checkpoint
/// (encoder, discriminator and GAN generator, same classes, vocabulary and max length) and runs GAN-BERT with fresh
/// AdamW optimisers over the round's labels (each row's supervised loss weighted by its label weight), the live
/// generator's fresh samples (the generator class, weight 1) and a seeded choice of unlabelled user texts; the held-out
/// texts are never trained on. Evaluation (step 4) scores a checkpoint on the held-out texts.
/// </summary>
public sealed class RoundDetectorTrainer(RoundDetectorOptions options, TorchPlacement placement, BaseEncoderFolders? encoders = null) : IDetectorTrainer
{
    public const string TrainingCurvesFile = "detector-training.png";
    public const string ConfusionMatrixFile = "confusion_matrix.png";
    public const string GeneratorSource = "generator";
    public const string UnlabelledSource = "unlabelled";

    public Task TrainAsync(DetectorTrainingRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        options.Validate();
        return Task.Run(() => Train(request, cancellation), cancellation);
    }

    void Train(DetectorTrainingRequest request, CancellationToken cancellation)
    {
        string live = request.LiveDetectorDirectory;
        if (string.Equals(Path.GetFullPath(live).TrimEnd(Path.DirectorySeparatorChar),
                Path.GetFullPath(request.OutputDirectory).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw new ArgumentException($"the candidate's output folder is the live detector's ({live}); the live detector must stay untouched");
        var liveConfig = DetectorCheckpoint.ReadConfig(live);
        var set = Compose(liveConfig.Classes, request, options.MaxUnlabelled, options.CalibrationFraction);
        if (set.Rows.Count == 0)
            throw new ArgumentException("the round has nothing to train the detector on: no labelled texts, generator samples or unlabelled texts");

        string vocab = Path.Combine(live, DetectorCheckpoint.VocabFile);
        var tokenizer = new BertWordPieceTokenizer(vocab, liveConfig.MaxLength, liveConfig.LowerCase);
        if (tokenizer.VocabSize != liveConfig.Encoder.VocabSize)
            throw new CheckpointException($"{live}: vocab.txt has {tokenizer.VocabSize} tokens but the encoder's vocab_size is {liveConfig.Encoder.VocabSize}");
        var encoded = set.Rows.Select(r => tokenizer.Encode(r.Text)).ToArray();
        // Training runs in float32 on the placement's device (AdamW in half precision loses small updates).
        var training = placement with { DType = ScalarType.Float32 };
        double lr = options.LearningRateFor(liveConfig.Backbone);

        using var network = DetectorCheckpoint.LoadNetwork(live, liveConfig, training, encoders?.Directories);
        using var noise = new torch.Generator(unchecked((ulong)request.Seed), training.Device);
        int stepsPerEpoch = (set.Rows.Count + options.BatchSize - 1) / options.BatchSize;
        var recipe = options.RecipeFor(liveConfig.Backbone);
        if (training.Device.type == DeviceType.CUDA && recipe.MixedPrecision)
            torch.backends.cuda.matmul.allow_tf32 = true; // untested here (no GPU build): TF32 tensor-core matmuls, float32 weights
        using var optimisation = new GanBertOptimisation(network, recipe, stepsPerEpoch * options.Epochs, adversarial: true, noise);
        torch.manual_seed(request.Seed); // dropout

        var steps = new List<StepLosses>();
        var history = new List<EpochRecord>();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            var rng = new Random(unchecked(request.Seed * 7919 + epoch));
            var order = Enumerable.Range(0, set.Rows.Count).OrderBy(_ => rng.Next()).ToArray();
            var epochSteps = new List<StepLosses>();
            foreach (var batch in order.Chunk(options.BatchSize))
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var (ids, mask) = TokenBatch.Create(batch.Select(i => encoded[i]).ToList(), tokenizer.PadId, training.Device);
                var labels = tensor(batch.Select(i => (long)Math.Max(set.Rows[i].ClassIndex, 0)).ToArray()).to(training.Device);
                var labelMask = tensor(batch.Select(i => set.Rows[i].ClassIndex >= 0).ToArray()).to(training.Device);
                var weights = tensor(batch.Select(i => (float)set.Rows[i].Weight).ToArray()).to(training.Device);
                var step = optimisation.Step(ids, mask, labels, labelMask, StepParts.Both, weights);
                if (!double.IsFinite(step.Discriminator) || !double.IsFinite(step.Generator))
                    throw new InvalidOperationException(
                        $"detector training diverged at epoch {epoch}, step {epochSteps.Count + 1} (L_D = {step.Discriminator}, L_G = {step.Generator}, learning rate {lr}); the candidate is discarded");
                epochSteps.Add(step);
            }
            steps.AddRange(epochSteps);
            int labelled = epochSteps.Sum(s => s.Labelled);
            history.Add(new EpochRecord(epoch, epochSteps.Average(s => s.Discriminator), epochSteps.Average(s => s.Generator),
                epochSteps.Average(s => s.Supervised), labelled == 0 ? 0 : (double)epochSteps.Sum(s => s.Correct) / labelled,
                null, null, watch.Elapsed.TotalSeconds, Health: GanHealth.Mean(epochSteps.Select(s => s.Health))));
        }
        cancellation.ThrowIfCancellationRequested();

        var candidate = liveConfig with
        {
            ModelVersion = $"round-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}",
            Training = TrainingFacts(liveConfig, set, lr, request.Seed, stepsPerEpoch, history),
        };
        var (calibration, calibrationFacts) = Calibrate(network, candidate, tokenizer, training, set.Calibration, DetectorCalibration.Read(live));
        candidate.Training!["calibration"] = calibrationFacts;
        DetectorCheckpoint.Save(request.OutputDirectory, candidate, network, vocab);
        calibration?.Write(request.OutputDirectory);
        DetectorPlots.StepCurves(steps, stepsPerEpoch, Path.Combine(request.ReportDirectory, TrainingCurvesFile),
            $"Detector {candidate.ModelVersion} from {liveConfig.ModelVersion}: {set.Rows.Count} rows, {options.Epochs} epoch(s), lr {lr:g3}");
    }

    /// <summary>Fewest calibration texts (with both a person's and a machine's among them) a candidate is calibrated on.</summary>
    public const int MinimumCalibrationTexts = 20;

    /// <summary>
    /// The candidate's calibration, fitted on the round's calibration share as <c>calibrate-detector</c> fits it (the short-text
    /// level kept from the live detector's), and what was done, for the candidate's training facts. Null (uncalibrated,
    /// the reason in the facts) when the share is too small or one-sided. Fusion weights are never carried over: they were
    /// fitted to the live detector and the live GPT-2, and the round changes both (refit with calibrate-detector --scorer).
    /// </summary>
    static (DetectorCalibration?, JsonObject) Calibrate(GanBertNetwork network, DetectorConfig candidate, BertWordPieceTokenizer tokenizer,
        TorchPlacement placement, IReadOnlyList<LabelledText> rows, DetectorCalibration? live)
    {
        var facts = new JsonObject { ["texts"] = rows.Count, ["fusion_dropped"] = live?.Fusion is not null };
        int persons = rows.Count(r => r.Label == candidate.RealClass);
        if (candidate.RealClass is null || rows.Count < MinimumCalibrationTexts || persons == 0 || persons == rows.Count)
        {
            facts["calibrated"] = false;
            facts["reason"] = candidate.RealClass is null ? "the detector has no human class"
                : $"{rows.Count} calibration texts ({persons} by people); needs {MinimumCalibrationTexts} with both people's and machines'";
            return (null, facts);
        }
        using var detector = GanBertDetector.FromNetwork(network, candidate, tokenizer, placement, ownsNetwork: false);
        var (calibration, report) = DetectorCalibrationFit.Fit(detector, rows, live?.MinimumTokensAccuracy ?? DetectorCalibrationFit.DefaultShortTextAccuracy);
        facts["calibrated"] = true;
        facts["temperature"] = calibration.Temperature;
        facts["minimum_tokens"] = calibration.MinimumTokens;
        facts["ece_before"] = report.EceBefore;
        facts["ece_after"] = report.EceAfter;
        calibration.Figures["fitted_by"] = "round";
        return (calibration, facts);
    }

    JsonObject TrainingFacts(DetectorConfig live, RoundTrainingSet set, double lr, int seed, int stepsPerEpoch, List<EpochRecord> history)
    {
        var last = history[^1];
        return new JsonObject
        {
            ["kind"] = "adversarial-round",
            ["warm_start"] = live.ModelVersion,
            ["seed"] = seed,
            ["epochs"] = options.Epochs,
            ["batch_size"] = options.BatchSize,
            ["learning_rate"] = lr,
            ["schedule"] = options.RecipeFor(live.Backbone).Schedule.ToString().ToLowerInvariant(),
            ["warmup"] = options.RecipeFor(live.Backbone).WarmupFraction,
            ["weight_decay"] = options.WeightDecay,
            ["layer_lr_decay"] = options.LayerLrDecay,
            ["freeze_encoder"] = options.FreezeEncoder,
            ["steps"] = stepsPerEpoch * options.Epochs,
            ["rows"] = new JsonObject(set.RowsBySource.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["label_weight"] = new JsonObject(set.WeightBySource.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["skipped_held_out"] = set.SkippedHeldOut,
            ["skipped_empty"] = set.SkippedEmpty,
            ["unlabelled_available"] = set.UnlabelledAvailable,
            ["final"] = new JsonObject
            {
                ["discriminator_loss"] = last.DiscriminatorLoss, ["generator_loss"] = last.GeneratorLoss,
                ["supervised_loss"] = last.SupervisedLoss, ["train_accuracy"] = last.TrainAccuracy,
            },
            ["history"] = JsonNode.Parse(JsonSerializer.Serialize(history)),
        };
    }

    /// <summary>
    /// The rows a round trains on: the labels (class and weight as given), the generator's samples (the generator class,
    /// weight 1) and at most <paramref name="maxUnlabelled"/> unlabelled texts (a choice seeded by the request's seed).
    /// Texts that are also held-out texts, and empty texts, are left out and counted. Throws
    /// <see cref="ArgumentException"/> for a class outside <paramref name="classes"/> or a weight that is negative or not finite.
    /// </summary>
    /// <param name="calibrationFraction">Share of the moderator, corpus and generator texts (by content hash) set aside in
    /// <see cref="RoundTrainingSet.Calibration"/> instead of trained on; user feedback and game guesses always train (too weak to calibrate on).</param>
    public static RoundTrainingSet Compose(IReadOnlyList<string> classes, DetectorTrainingRequest request, int maxUnlabelled, double calibrationFraction = 0)
    {
        var data = request.Data;
        var unknown = data.Labelled.Select(r => r.Class).Append(request.GeneratorClass)
            .Where(c => !classes.Contains(c)).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException(
                $"class{(unknown.Count > 1 ? "es" : "")} {string.Join(", ", unknown.Select(c => $"'{c}'"))} not in the live detector's classes " +
                $"({string.Join(", ", classes)}); a round keeps the class set: train a new detector (train-detector --classes ...) to add one");
        for (int i = 0; i < data.Labelled.Count; i++)
        {
            var r = data.Labelled[i];
            if (!double.IsFinite(r.Weight) || r.Weight < 0)
                throw new ArgumentException(
                    $"labelled text {i} (class '{r.Class}', source '{r.Source}') has weight {r.Weight}; weights must be finite and 0 or more");
        }

        var heldOut = new HashSet<string>(data.HeldOut.Select(h => h.Text), StringComparer.Ordinal);
        var rows = new List<RoundTrainingRow>();
        var count = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var weight = new SortedDictionary<string, double>(StringComparer.Ordinal);
        int skippedHeldOut = 0, skippedEmpty = 0;
        var calibration = new List<LabelledText>();
        void Add(string text, int classIndex, double w, string source)
        {
            if (string.IsNullOrWhiteSpace(text)) { skippedEmpty++; return; }
            if (heldOut.Contains(text)) { skippedHeldOut++; return; }
            if (classIndex >= 0 && StrongSources.Contains(source) && LabelStoreRoundData.IsCalibration(text, calibrationFraction))
            {
                calibration.Add(new LabelledText(text, classes[classIndex]));
                return;
            }
            rows.Add(new RoundTrainingRow(text, classIndex, w, source));
            count[source] = count.GetValueOrDefault(source) + 1;
            if (classIndex >= 0) weight[source] = weight.GetValueOrDefault(source) + w;
        }
        int IndexOf(string c)
        {
            for (int k = 0; k < classes.Count; k++) if (classes[k] == c) return k;
            return -1;
        }

        foreach (var r in data.Labelled) Add(r.Text, IndexOf(r.Class), r.Weight, r.Source);
        int generatorClass = IndexOf(request.GeneratorClass);
        foreach (var text in request.GeneratorSamples) Add(text, generatorClass, 1, GeneratorSource);
        var rng = new Random(request.Seed);
        var unlabelled = data.Unlabelled.Count <= maxUnlabelled
            ? data.Unlabelled
            : data.Unlabelled.OrderBy(_ => rng.Next()).Take(maxUnlabelled).ToList();
        foreach (var text in unlabelled) Add(text, -1, 0, UnlabelledSource);
        return new RoundTrainingSet(rows, count, weight, skippedHeldOut, skippedEmpty, data.Unlabelled.Count) { Calibration = calibration };
    }

    /// <summary>Sources whose labels are strong enough to calibrate on.</summary>
    static readonly HashSet<string> StrongSources = new(StringComparer.Ordinal) { LabelStoreRoundData.ModeratorSource, LabelStoreRoundData.CorpusSource, GeneratorSource };

    /// <summary>
    /// Accuracy and macro-F1 (over the detector's classes present in the held-out set) of a checkpoint. Every held-out
    /// text counts once: the label weights are not used here (a weak label is scored like a moderator's). Texts whose
    /// class is not one of the detector's are shown in the confusion matrix but not scored ("out_of_set"); empty texts
    /// are skipped ("skipped_empty"). With nothing to score (no held-out texts yet), both metrics are NaN, and the
    /// round's gate refuses the candidate with "metrics not finite".
    /// Extra: "texts" (scored), "mcc", "recall_&lt;class&gt;" and "f1_&lt;class&gt;" for each class present.
    /// </summary>
    public Task<DetectorScore> EvaluateAsync(string detectorDirectory, IReadOnlyList<WeightedText> heldOut, string reportDirectory,
        CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        options.Validate();
        return Task.Run(() => Evaluate(detectorDirectory, heldOut, reportDirectory, cancellation), cancellation);
    }

    DetectorScore Evaluate(string detectorDirectory, IReadOnlyList<WeightedText> heldOut, string reportDirectory, CancellationToken cancellation)
    {
        var rows = heldOut.Where(r => !string.IsNullOrWhiteSpace(r.Text)).ToList();
        int skippedEmpty = heldOut.Count - rows.Count;
        using var detector = GanBertDetector.Load(detectorDirectory, placement, options.BatchSize, encoders?.Directories);
        var predicted = new List<string>(rows.Count);
        var probabilities = new List<double[]>(rows.Count);
        int chunk = options.BatchSize * 8;
        for (int start = 0; start < rows.Count; start += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            var texts = rows.Skip(start).Take(chunk).Select(r => r.Text).ToList();
            foreach (var d in detector.Detect(texts))
            {
                predicted.Add(d.Label);
                probabilities.Add(detector.Classes.Select(c => d.Probabilities[c]).ToArray());
            }
        }
        var extra = new Dictionary<string, double> { ["texts"] = 0 };
        if (skippedEmpty > 0) extra["skipped_empty"] = skippedEmpty;
        if (rows.Count == 0) return new DetectorScore(double.NaN, double.NaN) { Extra = extra };

        var report = DetectorEvaluation.Score(detector.Classes, rows.Select(r => r.Class).ToList(), predicted, detector.Config.RealClass);
        extra["texts"] = report.Scored;
        if (report.OutOfSet > 0) extra["out_of_set"] = report.OutOfSet;
        Directory.CreateDirectory(reportDirectory);
        string png = Path.Combine(reportDirectory, ConfusionMatrixFile);
        DetectorPlots.ConfusionMatrix(report, png, $"{detector.ModelVersion}: {report.Scored} held-out texts");
        if (report.Scored == 0) return new DetectorScore(double.NaN, double.NaN, png) { Extra = extra };

        extra["mcc"] = report.Mcc;
        foreach (var c in report.PerClass.Where(c => c.Support > 0))
        {
            extra["recall_" + c.Class] = c.Recall;
            extra["f1_" + c.Class] = c.F1;
        }
        // Calibration as served: P(person) through the checkpoint's calibration.json when it has one.
        var scored = rows.Select((r, i) => (r, i)).Where(x => detector.Classes.Contains(x.r.Class)).ToList();
        var calibration = DetectorCalibrationFit.Measure(detector, DetectorCalibration.Read(detectorDirectory),
            scored.Select(x => new LabelledText(x.r.Text, x.r.Class)).ToList(), scored.Select(x => probabilities[x.i]).ToList());
        return new DetectorScore(report.MacroF1, report.Accuracy, png)
        {
            Extra = extra, Gate = DetectorGate.Check(report, "held-out", margin: 0),
            Ece = calibration?.EceAfter ?? double.NaN, Brier = calibration?.BrierAfter ?? double.NaN,
        };
    }
}
