using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GanBertBots.Models;
using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Storage;
using GanBertBots.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Training.Detector;

// Long on purpose: the options, the epoch records and the one training loop (steps, selection by validation, checkpoint) read top to bottom, as a training script does.

/// <summary>How to train a detector.</summary>
public sealed record DetectorTrainingOptions
{
    /// <summary>small (from scratch), bert or distilbert (from <see cref="EncoderDirectory"/>).</summary>
    public required string Backbone { get; init; }
    /// <summary>Hugging Face checkpoint directory of the pretrained encoder (bert, distilbert).</summary>
    public string? EncoderDirectory { get; init; }
    /// <summary>The WordPiece vocab.txt (defaults to the encoder directory's).</summary>
    public string? VocabPath { get; init; }
    /// <summary>The class set, in order; null = the labels found in the data (human first).</summary>
    public IReadOnlyList<string>? Classes { get; init; }
    public string RealClass { get; init; } = Labels.Default.Human;
    public int MaxLength { get; init; } = 256;
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 32;
    /// <summary>Encoder + discriminator learning rate; null = 1e-3 for the small backbone, 5e-5 for pretrained encoders.</summary>
    public double? LearningRate { get; init; }
    /// <summary>Generator learning rate; null = the head's.</summary>
    public double? GeneratorLearningRate { get; init; }
    /// <summary>The discriminator head's learning rate; null = the same as <see cref="LearningRate"/>.</summary>
    public double? HeadLearningRate { get; init; }
    /// <summary>Fraction of the labelled rows whose label is kept (per class, at least one); the rest train as unlabelled.</summary>
    public double LabeledFraction { get; init; } = 1.0;
    /// <summary>GAN-BERT (true) or the same backbone and head on L_sup alone (false).</summary>
    public bool Adversarial { get; init; } = true;
    public int Seed { get; init; } = 42;
    public required string OutputDirectory { get; init; }
    /// <summary>Stop after this many epochs without a better validation macro-F1; 0 = run all epochs.</summary>
    public int Patience { get; init; }
    /// <summary>Continue from the checkpoint and training state in <see cref="OutputDirectory"/>.</summary>
    public bool Resume { get; init; }
    public TorchPlacement Placement { get; init; } = TorchPlacement.Cpu;
    /// <summary>Shape of the small backbone; null = <see cref="BertConfig.Small"/>.</summary>
    public BertConfig? SmallEncoder { get; init; }
    /// <summary>How one vector per text is taken: null = mean over the real tokens for every backbone (MiniLM was trained
    /// with mean pooling); <see cref="Pooling.Cls"/> = the encoder's own [CLS] pooling (BERT's pooler, DistilBERT's [CLS]).</summary>
    public Pooling? Pooling { get; init; }
    /// <summary>Share of the steps spent warming up; null = 0.1 for pretrained encoders, none (constant rate) for the small backbone.</summary>
    public double? WarmupFraction { get; init; }
    /// <summary>AdamW weight decay on weight matrices and embeddings (never biases or LayerNorm).</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Layer-wise learning-rate decay X: layer l of L gets lr·X^(L−l), the embeddings lr·X^L; 1 = off.</summary>
    public double LayerLearningRateDecay { get; init; } = 1.0;
    /// <summary>Train the head only; the encoder stays as loaded.</summary>
    public bool FreezeEncoder { get; init; }
    /// <summary>Houlsby adapters of this bottleneck size in every layer of a pretrained encoder, which is frozen: adapters,
    /// LayerNorms and the head train, and the detector stores only those beside a reference to the encoder; 0 = none.</summary>
    public int AdapterSize { get; init; }
    /// <summary>Weight of the generator's feature-matching term (GAN-BERT: 1).</summary>
    public double FeatureMatchingWeight { get; init; } = 1.0;
    /// <summary>Weight of the generator's spread-matching term (not in GAN-BERT: 0).</summary>
    public double SpreadMatchingWeight { get; init; }
    /// <summary>At most this many unlabelled rows per labelled row (a seeded choice, the same in every epoch); null = all of them.
    /// Both methods take as many steps as the rows kept give.</summary>
    public double? UnlabelledPerLabelled { get; init; }
    /// <summary>GAN-BERT: how many times each labelled row is in an epoch; null = GAN-BERT's floor(log2(1/rate)) (see
    /// <see cref="LabelledRepeats(double)"/>). Supervised-only draws its steps from the labelled rows whatever this is.</summary>
    public int? LabelledRepeatsPerEpoch { get; init; }

    /// <summary>The optimiser's recipe these options give.</summary>
    public FineTuningRecipe Recipe()
    {
        bool pretrained = Backbone != "small";
        var recipe = pretrained ? FineTuningRecipe.ForPretrained(LearningRate) : FineTuningRecipe.ForSmall(LearningRate);
        if (WarmupFraction is { } w) recipe = recipe with { Schedule = LearningRateSchedule.Linear, WarmupFraction = w };
        return recipe with
        {
            GeneratorLearningRate = GeneratorLearningRate, HeadLearningRate = HeadLearningRate, WeightDecay = WeightDecay,
            LayerLearningRateDecay = LayerLearningRateDecay, FreezeEncoder = FreezeEncoder, FeatureMatchingWeight = FeatureMatchingWeight,
            SpreadMatchingWeight = SpreadMatchingWeight,
        };
    }
}

/// <summary>
/// One epoch's numbers. Validation = the split that chooses the epoch; Test = the held-out set,
/// scored for the report's curves only (it never influences training or selection).
/// </summary>
/// Health = the epoch's mean <see cref="GanHealth"/> (null for supervised-only runs and runs written before it was kept).
public sealed record EpochRecord(int Epoch, double DiscriminatorLoss, double GeneratorLoss, double SupervisedLoss,
    double TrainAccuracy, double? ValidationAccuracy, double? ValidationMacroF1, double Seconds,
    double? TestAccuracy = null, double? TestMacroF1 = null, GanHealth? Health = null);

/// <summary>Where training is, for progress bars.</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int Steps, double DiscriminatorLoss, double GeneratorLoss);

/// <summary>What a run did: the detector in <see cref="Directory"/> is the one from <see cref="BestEpoch"/>.</summary>
public sealed record TrainingOutcome(string Directory, DetectorConfig Config, IReadOnlyList<EpochRecord> History,
    int BestEpoch = 0, bool StoppedEarly = false, string Selection = EpochSelection.LastEpochRule);

/// <summary>
/// Trains a GAN-BERT detector (or its supervised-only twin). After every epoch it scores the
/// validation rows (when given) and keeps the best epoch by validation macro-F1 (ties: the
/// earlier epoch); with a patience it stops after that many epochs without improvement.
/// Layout of the output directory:
/// <list type="bullet">
/// <item>OUT/: the chosen (best) epoch's detector (config.json, model.safetensors, vocab.txt) and
/// training-state.json (epochs done, history, kept labels, best epoch, selection rule);</item>
/// <item>OUT/last/: the last epoch's detector and both optimisers' state, the point
/// <see cref="DetectorTrainingOptions.Resume"/> continues from.</item>
/// </list>
/// Without validation rows the last epoch is the chosen one. training-state.json is written last
/// and is the commit point of an epoch.
/// </summary>
public static class DetectorTrainer
{
    public const string StateFile = "training-state.json";
    /// <summary>Subdirectory of the output holding the last epoch's weights and optimiser state (for resuming).</summary>
    public const string LastEpochDirectory = "last";

    /// <param name="validation">Labelled rows that choose the epoch (never trained on); null or empty = keep the last epoch.</param>
    /// <param name="test">Held-out rows scored after every epoch for the history only.</param>
    public static TrainingOutcome Train(DetectorTrainingOptions o, IReadOnlyList<LabelledText> train, IReadOnlyList<LabelledText>? validation = null,
        IReadOnlyList<LabelledText>? test = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        Validate(o);
        if (train.Count == 0) throw new UserFacingException("no training rows");
        validation ??= [];
        if (validation.Any(r => r.Label is null)) throw new UserFacingException("every validation row needs a label");
        bool selecting = validation.Count > 0;
        string rule = selecting ? EpochSelection.Rule : EpochSelection.LastEpochRule;
        string validationPrint = Fingerprint(validation);

        string statePath = Path.Combine(o.OutputDirectory, StateFile);
        string lastDir = Path.Combine(o.OutputDirectory, LastEpochDirectory);
        bool resuming = o.Resume && File.Exists(statePath);
        // Where a resumed run continues from: OUT/last, or OUT itself for runs written before model selection.
        string resumeFrom = File.Exists(Path.Combine(lastDir, DetectorCheckpoint.ConfigFile)) ? lastDir : o.OutputDirectory;
        CheckOutputDirectory(o);
        if (!resuming) CheckLabels(o.Classes ?? ClassesOf(train), train.Concat(validation));
        Directory.CreateDirectory(o.OutputDirectory); // OUT/last/ only once there is an epoch to put in it

        DetectorConfig config;   // the network's, as in OUT/last/
        DetectorConfig? chosen = null; // the chosen epoch's detector in OUT/
        GanBertNetwork network;
        var history = new List<EpochRecord>();
        int epochsDone = 0;
        var selection = EpochSelection.Start;
        bool[] keepLabel;
        if (resuming)
        {
            var state = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject ?? throw new CheckpointException($"{statePath}: not a JSON object");
            epochsDone = state["epochs_done"]!.GetValue<int>();
            history = JsonSerializer.Deserialize<List<EpochRecord>>(state["history"]!.ToJsonString()) ?? new();
            keepLabel = JsonSerializer.Deserialize<bool[]>(state["kept_labels"]!.ToJsonString())!;
            // The validation split first: a run started without one and resumed under train-detector's default (15% aside)
            // also has fewer training rows, and "resume with the same data" would send its user looking in the wrong place.
            if (state["validation_rows"]?.GetValue<int>() is { } runValidationRows && runValidationRows != validation.Count)
                throw new UserFacingException(runValidationRows == 0
                    ? $"{statePath}: the run had no validation split and this one sets {validation.Count} rows aside (train-detector sets one aside by default); resume it as it was with --validation-fraction 0"
                    : $"{statePath}: the run chose epochs on {runValidationRows} validation rows and this one sets {validation.Count} aside; resume with the same data, seed and validation settings");
            if (keepLabel.Length != train.Count)
                throw new UserFacingException($"{statePath}: the run was trained on {keepLabel.Length} rows, this data has {train.Count}; resume with the same data");
            if (state["validation_fingerprint"]?.GetValue<string>() is { } print && print != validationPrint)
                throw new UserFacingException($"{statePath}: the run chose epochs on another validation split ({state["validation_rows"]} rows); resume with the same data, seed and validation settings");
            // Runs written before model selection kept the last epoch at the top level and no best epoch.
            int best = state["best_epoch"]?.GetValue<int>() ?? epochsDone;
            if (selecting && best > 0 && history[best - 1].ValidationMacroF1 is { } bestScore)
                selection = new EpochSelection(best, bestScore, state["epochs_since_best"]?.GetValue<int>() ?? epochsDone - best);
            else if (!selecting) selection = new EpochSelection(best, double.NegativeInfinity, 0);
            config = DetectorCheckpoint.ReadConfig(resumeFrom);
            chosen = DetectorCheckpoint.ReadConfig(o.OutputDirectory);
            network = DetectorCheckpoint.LoadNetwork(resumeFrom, config, o.Placement);
        }
        else
        {
            var classes = o.Classes ?? ClassesOf(train);
            var encoder = BuildEncoder(o, train, out string vocab);
            config = new DetectorConfig
            {
                Backbone = o.Backbone, Encoder = encoder.Config, Classes = classes,
                RealClass = classes.Contains(o.RealClass) ? o.RealClass : null, MaxLength = o.MaxLength,
                Training = new JsonObject
                {
                    ["adversarial"] = o.Adversarial, ["labeled_fraction"] = o.LabeledFraction, ["seed"] = o.Seed,
                    ["batch_size"] = o.BatchSize, ["train_rows"] = train.Count, ["validation_rows"] = validation.Count,
                    ["recipe"] = RecipeFacts(o.Recipe()),
                    ["adapter_size"] = o.AdapterSize,
                    ["unlabelled_per_labelled"] = o.UnlabelledPerLabelled,
                    ["labelled_repeats"] = o.LabelledRepeatsPerEpoch ?? LabelledRepeats(o.LabeledFraction),
                },
                BaseEncoder = o.AdapterSize > 0 ? BaseEncoderReference.Of(o.EncoderDirectory!) : null,
            };
            config.Validate(o.OutputDirectory);
            network = new GanBertNetwork(encoder, classes.Count);
            network.to(o.Placement.Device, o.Placement.DType);
            keepLabel = ChooseLabelled(train, o.LabeledFraction, o.Seed);
            if (Path.GetFullPath(vocab) != Path.GetFullPath(Path.Combine(o.OutputDirectory, DetectorCheckpoint.VocabFile)))
                File.Copy(vocab, Path.Combine(o.OutputDirectory, DetectorCheckpoint.VocabFile), overwrite: true);
        }
        string vocabPath = Path.Combine(o.OutputDirectory, DetectorCheckpoint.VocabFile);

        var unknown = train.Concat(validation).Where(r => r.Label is not null && !config.Classes.Contains(r.Label)).Select(r => r.Label).Distinct().ToList();
        if (unknown.Count > 0)
            throw new UserFacingException($"labels not in the class set ({string.Join(", ", config.Classes)}): {string.Join(", ", unknown)}");

        var tokenizer = new BertWordPieceTokenizer(vocabPath, config.MaxLength, config.LowerCase);
        var encoded = train.Select(r => tokenizer.Encode(r.Text)).ToArray();
        var labelIndex = train.Select(r => r.Label is null ? -1 : config.Classes.ToList().IndexOf(r.Label)).ToArray();
        var recipe = o.Recipe();
        int stepsPerEpoch = Batches(labelIndex, keepLabel, o, 1).Count; // the same in every epoch
        if (o.Placement.Device.type == DeviceType.CUDA && recipe.MixedPrecision)
            torch.backends.cuda.matmul.allow_tf32 = true; // untested here (no GPU build): TF32 tensor-core matmuls, float32 weights
        using var noise = new torch.Generator((ulong)(o.Seed * 1000L));
        using var optimisation = new GanBertOptimisation(network, recipe, stepsPerEpoch * o.Epochs, o.Adversarial, noise);
        if (resuming)
        {
            optimisation.TryLoad(resumeFrom);
            optimisation.StepsTaken = epochsDone * stepsPerEpoch;
        }

        (double Accuracy, double MacroF1)? Score(IReadOnlyList<LabelledText>? rows, Tensor? rowFeatures)
        {
            if (rows is not { Count: > 0 }) return null;
            if (rowFeatures is not null)
            {
                // The frozen encoder's features of these rows were computed once: only the head runs.
                using var scope = NewDisposeScope();
                using var mode = torch.no_grad();
                network.Discriminator.eval();
                var (_, logits) = network.Discriminator.forward(rowFeatures);                            // [N, k+1]
                var best = logits.narrow(1, 0, config.Classes.Count).argmax(1).data<long>().ToArray(); // the real classes only
                var labelledRows = rows.Where(r => r.Label is not null).ToList();
                var scored = DetectorEvaluation.Score(config.Classes, labelledRows.Select(r => r.Label!).ToList(),
                    best.Select(i => config.Classes[(int)i]).ToList(), config.RealClass);
                return (scored.Accuracy, scored.MacroF1);
            }
            using var detector = GanBertDetector.FromNetwork(network, config, tokenizer, o.Placement, ownsNetwork: false);
            var report = DetectorEvaluation.Evaluate(detector, rows);
            return (report.Accuracy, report.MacroF1);
        }

        // A frozen encoder (none of its parameters trains) gives every text the same features in every epoch:
        // they are computed once, and each step runs the GAN-BERT head alone.
        using var features = optimisation.EncoderTrains ? null : EncodeOnce(network, encoded, tokenizer.PadId, o);
        Tensor? Once(IReadOnlyList<LabelledText>? rows) => features is null || rows is not { Count: > 0 } ? null
            : EncodeOnce(network, rows.Where(r => r.Label is not null).Select(r => tokenizer.Encode(r.Text)).ToList(), tokenizer.PadId, o);
        using var validationFeatures = Once(validation);
        using var testFeatures = Once(test);
        try
        {
            for (int epoch = epochsDone + 1; epoch <= o.Epochs && !selection.PatienceExhausted(o.Patience); epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                var watch = Stopwatch.StartNew();
                torch.manual_seed(o.Seed * 1000L + epoch);
                noise.manual_seed(o.Seed * 1000L + epoch); // per epoch, so a resumed run draws what an uninterrupted one would
                var batches = Batches(labelIndex, keepLabel, o, epoch);
                double sumD = 0, sumG = 0, sumSup = 0;
                int labelled = 0, correct = 0;
                var health = new List<GanHealth?>();
                for (int s = 0; s < batches.Count; s++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    var rows = batches[s];
                    var labels = tensor(rows.Select(i => (long)Math.Max(labelIndex[i], 0)).ToArray()).to(o.Placement.Device);
                    var labelMask = tensor(rows.Select(i => labelIndex[i] >= 0 && keepLabel[i]).ToArray()).to(o.Placement.Device);
                    StepLosses step;
                    if (features is not null)
                        step = optimisation.StepOnFeatures(features.index_select(0, tensor(rows.Select(i => (long)i).ToArray()).to(o.Placement.Device)), labels, labelMask);
                    else
                    {
                        var (ids, mask) = TokenBatch.Create(rows.Select(i => encoded[i]).ToList(), tokenizer.PadId, o.Placement.Device);
                        step = optimisation.Step(ids, mask, labels, labelMask);
                    }
                    sumD += step.Discriminator; sumG += step.Generator; sumSup += step.Supervised;
                    labelled += step.Labelled; correct += step.Correct;
                    health.Add(step.Health);
                    progress?.Report(new TrainingProgress(epoch, o.Epochs, s + 1, batches.Count, step.Discriminator, step.Generator));
                }
                double trainSeconds = watch.Elapsed.TotalSeconds;
                var onValidation = Score(validation, validationFeatures);
                var onTest = Score(test, testFeatures);
                int n = Math.Max(1, batches.Count);
                history.Add(new EpochRecord(epoch, sumD / n, sumG / n, sumSup / n, labelled == 0 ? 0 : (double)correct / labelled,
                    onValidation?.Accuracy, onValidation?.MacroF1, trainSeconds, onTest?.Accuracy, onTest?.MacroF1, GanHealth.Mean(health)));

                bool best = selecting ? selection.Improves(onValidation!.Value.MacroF1) : true;
                selection = selecting ? selection.Observe(epoch, onValidation!.Value.MacroF1) : new EpochSelection(epoch, double.NegativeInfinity, 0);
                string stamp = $"{o.Backbone}-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-e{epoch}";
                var facts = Facts(config.Training, epoch, selection.BestEpoch, rule, o.Patience, validation.Count);
                // The resume point first, then the chosen detector, then the state that names both.
                Directory.CreateDirectory(lastDir);
                DetectorCheckpoint.Save(lastDir, config with { ModelVersion = stamp, Training = facts }, network, vocabPath);
                optimisation.Save(lastDir);
                if (best || chosen is null)
                {
                    chosen = config with { ModelVersion = stamp, Training = facts };
                    DetectorCheckpoint.Save(o.OutputDirectory, chosen, network, vocabPath);
                }
                else
                {
                    chosen = chosen with { Training = facts };
                    DetectorCheckpoint.WriteConfig(o.OutputDirectory, chosen);
                }
                bool stopped = selection.PatienceExhausted(o.Patience) && epoch < o.Epochs;
                SaveState(statePath, epoch, history, keepLabel, selection, rule, o.Patience, stopped, validation.Count, validationPrint);
            }
        }
        finally
        {
            network.Dispose();
        }
        bool stoppedEarly = selection.PatienceExhausted(o.Patience) && history.Count < o.Epochs;
        return new TrainingOutcome(o.OutputDirectory, DetectorCheckpoint.ReadConfig(o.OutputDirectory), history, selection.BestEpoch, stoppedEarly, rule);
    }

    /// <summary>[N, H] the (frozen) encoder's pooled output for every training text, in row order.</summary>
    static Tensor EncodeOnce(GanBertNetwork network, IReadOnlyList<EncodedText> encoded, int padId, DetectorTrainingOptions o)
    {
        network.Encoder.eval();
        using var mode = torch.no_grad();
        var parts = new List<Tensor>();
        try
        {
            for (int start = 0; start < encoded.Count; start += o.BatchSize)
            {
                using var scope = NewDisposeScope();
                var (ids, mask) = TokenBatch.Create(encoded.Skip(start).Take(o.BatchSize).ToList(), padId, o.Placement.Device);
                parts.Add(network.Encoder.forward(ids, mask).MoveToOuterDisposeScope()); // [b, H]
            }
            return torch.cat(parts, 0);                                                  // [N, H]
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    static JsonObject RecipeFacts(FineTuningRecipe r) => new()
    {
        ["learning_rate"] = r.LearningRate, ["head_learning_rate"] = r.HeadLearningRate ?? r.LearningRate,
        ["generator_learning_rate"] = r.GeneratorLearningRate ?? r.HeadLearningRate ?? r.LearningRate,
        ["schedule"] = r.Schedule.ToString().ToLowerInvariant(), ["warmup"] = r.WarmupFraction, ["weight_decay"] = r.WeightDecay,
        ["layer_lr_decay"] = r.LayerLearningRateDecay, ["freeze_encoder"] = r.FreezeEncoder, ["feature_matching"] = r.FeatureMatchingWeight,
        ["spread_matching"] = r.SpreadMatchingWeight,
    };

    static JsonObject Facts(JsonObject training, int epochsDone, int bestEpoch, string rule, int patience, int validationRows)
    {
        var facts = (JsonObject)JsonNode.Parse(training.ToJsonString())!;
        facts["epochs_done"] = epochsDone;
        facts["best_epoch"] = bestEpoch;
        facts["selection"] = rule;
        facts["patience"] = patience;
        facts["validation_rows"] = validationRows;
        return facts;
    }

    static void SaveState(string path, int epoch, List<EpochRecord> history, bool[] keepLabel, EpochSelection selection, string rule,
        int patience, bool stoppedEarly, int validationRows, string validationPrint)
    {
        var state = new JsonObject
        {
            ["epochs_done"] = epoch,
            ["best_epoch"] = selection.BestEpoch,
            ["epochs_since_best"] = selection.EpochsSinceBest,
            ["selection"] = rule,
            ["patience"] = patience,
            ["stopped_early"] = stoppedEarly,
            ["validation_rows"] = validationRows,
            ["validation_fingerprint"] = validationPrint,
            ["history"] = JsonNode.Parse(JsonSerializer.Serialize(history)),
            ["kept_labels"] = JsonNode.Parse(JsonSerializer.Serialize(keepLabel)),
        };
        File.WriteAllText(path + ".partial", state.ToJsonString());
        File.Move(path + ".partial", path, overwrite: true);
    }

    /// <summary>A short hash of the validation rows (label and text), so a resume cannot silently select on other rows.</summary>
    static string Fingerprint(IReadOnlyList<LabelledText> rows)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var r in rows) sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{r.Label}\t{r.Text}\n"));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>The history of a trained detector directory (empty when it has none).</summary>
    public static IReadOnlyList<EpochRecord> ReadHistory(string directory)
    {
        string path = Path.Combine(directory, StateFile);
        if (!File.Exists(path)) return [];
        var state = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
        return JsonSerializer.Deserialize<List<EpochRecord>>(state?["history"]?.ToJsonString() ?? "[]") ?? [];
    }

    /// <summary>What <see cref="DetectorTrainer.Train"/> would refuse about the options and the backbone's files, checked without writing anything.</summary>
    /// <exception cref="UserFacingException">The first problem, saying what to pass.</exception>
    /// <summary>
    /// Refuses an output folder that holds a run this one may not continue or overwrite. Callers that write into the folder
    /// before training (held-out and validation splits) check first, so a refusal leaves the folder as it was.
    /// </summary>
    public static void CheckOutputDirectory(DetectorTrainingOptions o)
    {
        string statePath = Path.Combine(o.OutputDirectory, StateFile);
        bool resuming = o.Resume && File.Exists(statePath);
        if (o.Resume && !resuming && File.Exists(Path.Combine(o.OutputDirectory, DetectorCheckpoint.ConfigFile)))
            throw new UserFacingException($"{o.OutputDirectory}: holds a detector but no {StateFile}: nothing to resume");
        if (!o.Resume && File.Exists(statePath))
            throw new UserFacingException($"{o.OutputDirectory}: already holds a training run; pass --resume to continue it or choose another --out");
    }

    public static void Validate(DetectorTrainingOptions o)
    {
        if (o.Epochs < 1) throw new UserFacingException($"epochs must be at least 1 (got {o.Epochs})");
        if (o.BatchSize < 1) throw new UserFacingException($"batch size must be at least 1 (got {o.BatchSize})");
        if (o.Patience < 0) throw new UserFacingException($"patience must be 0 (off) or more (got {o.Patience})");
        if (o.LabeledFraction is <= 0 or > 1) throw new UserFacingException($"labelled fraction must be in (0, 1] (got {o.LabeledFraction})");
        if (o.UnlabelledPerLabelled is { } ratio && !(double.IsFinite(ratio) && ratio >= 0))
            throw new UserFacingException($"--unlabelled-ratio must be 0 or more unlabelled rows per labelled row (got {ratio})");
        if (o.LabelledRepeatsPerEpoch is < 1)
            throw new UserFacingException($"--labelled-repeats must be 1 or more passes over the labelled rows an epoch (got {o.LabelledRepeatsPerEpoch})");
        if (o.MaxLength < 3) throw new UserFacingException($"max length must be at least 3 (got {o.MaxLength})");
        o.Recipe().Validate();
        if (o.AdapterSize < 0) throw new UserFacingException($"--adapters must be a bottleneck size of 1 or more (got {o.AdapterSize})");
        if (o.AdapterSize > 0 && o.Backbone == "small")
            throw new UserFacingException("--adapters needs a pretrained encoder (--backbone bert DIR or distilbert DIR); the small backbone trains from scratch");
        if (o.Resume && File.Exists(Path.Combine(o.OutputDirectory, StateFile))) return; // the backbone comes from the run being resumed
        switch (o.Backbone)
        {
            case "small":
                // Without --vocab the small backbone builds its vocabulary from the training texts (offline, no download).
                if (o.VocabPath is not null && !File.Exists(o.VocabPath)) throw new UserFacingException($"{o.VocabPath}: vocabulary file not found (--vocab)");
                break;
            case "bert":
            case "distilbert":
                string dir = o.EncoderDirectory ?? throw new UserFacingException($"the {o.Backbone} backbone needs its checkpoint directory");
                if (!Directory.Exists(dir)) throw new UserFacingException($"{dir}: encoder checkpoint directory not found");
                BertConfig.Load(dir, o.Backbone == "bert" ? EncoderKind.Bert : EncoderKind.DistilBert);
                string vocab = o.VocabPath ?? Path.Combine(dir, "vocab.txt");
                if (!File.Exists(vocab)) throw new UserFacingException($"{vocab}: vocabulary file not found (pass --vocab)");
                break;
            default:
                throw new UserFacingException($"unknown backbone '{o.Backbone}' (use small, bert or distilbert)");
        }
    }

    /// <summary>Size of the vocabulary the small backbone builds from its training texts when no --vocab is given.</summary>
    public const int BuiltVocabularySize = 8000;

    /// <summary>Every labelled row's label must be in the class set.</summary>
    static void CheckLabels(IReadOnlyList<string> classes, IEnumerable<LabelledText> rows)
    {
        var unknown = rows.Where(r => r.Label is not null && !classes.Contains(r.Label)).Select(r => r.Label).Distinct().ToList();
        if (unknown.Count > 0)
            throw new UserFacingException($"labels not in the class set ({string.Join(", ", classes)}): {string.Join(", ", unknown)}");
    }

    static BertEncoder BuildEncoder(DetectorTrainingOptions o, IReadOnlyList<LabelledText> train, out string vocab)
    {
        switch (o.Backbone)
        {
            case "small":
                if (o.VocabPath is null)
                {
                    vocab = Path.Combine(o.OutputDirectory, DetectorCheckpoint.VocabFile);
                    WordPieceVocabulary.Write(vocab, WordPieceVocabulary.Build(train.Select(r => r.Text), BuiltVocabularySize));
                }
                else vocab = o.VocabPath;
                int vocabSize = File.Exists(vocab) ? File.ReadLines(vocab).Count() : throw new UserFacingException($"{vocab}: vocabulary file not found");
                var small = o.SmallEncoder ?? BertConfig.Small(vocabSize, o.MaxLength);
                if (o.Pooling is { } p) small = small with { Pooling = p == Pooling.Cls ? Pooling.Cls : Pooling.Mean };
                if (small.VocabSize != vocabSize) throw new UserFacingException($"small encoder vocab size {small.VocabSize} differs from {vocab}'s {vocabSize}");
                torch.manual_seed(o.Seed);
                return new BertEncoder(small);
            case "bert":
            case "distilbert":
                string dir = o.EncoderDirectory ?? throw new UserFacingException($"the {o.Backbone} backbone needs its checkpoint directory");
                vocab = o.VocabPath ?? Path.Combine(dir, "vocab.txt");
                if (!File.Exists(vocab)) throw new UserFacingException($"{vocab}: vocabulary file not found (pass --vocab)");
                // Mean pooling unless [CLS] was asked for; then the checkpoint's own: BERT's pooler, DistilBERT's [CLS] state.
                var encoder = BertWeights.LoadEncoder(dir, TorchPlacement.Cpu, o.Backbone == "bert" ? EncoderKind.Bert : EncoderKind.DistilBert,
                    o.Pooling == Pooling.Cls ? null : Pooling.Mean, o.AdapterSize);
                torch.manual_seed(o.Seed);
                return encoder;
            default:
                throw new UserFacingException($"unknown backbone '{o.Backbone}' (use small, bert or distilbert)");
        }
    }

    /// <summary>Labels found in the data: human first, then the default classes' order, then the rest alphabetically.</summary>
    public static IReadOnlyList<string> ClassesOf(IEnumerable<LabelledText> rows)
    {
        var found = rows.Select(r => r.Label).OfType<string>().Distinct().ToList();
        if (found.Count < 2) throw new UserFacingException($"the data has {found.Count} distinct label(s); a detector needs at least two");
        int Rank(string c) => Labels.Default.Classes.IndexOf(c) is var i and >= 0 ? i : int.MaxValue;
        return found.OrderBy(Rank).ThenBy(c => c, StringComparer.Ordinal).ToList();
    }

    /// <summary>Which labelled rows keep their label: per class, a seeded random ceil(fraction · n), at least one.</summary>
    public static bool[] ChooseLabelled(IReadOnlyList<LabelledText> rows, double fraction, int seed)
    {
        var keep = new bool[rows.Count];
        var rng = new Random(seed);
        foreach (var group in Enumerable.Range(0, rows.Count).Where(i => rows[i].Label is not null).GroupBy(i => rows[i].Label!).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var members = group.OrderBy(_ => rng.Next()).ToList();
            int take = Math.Max(1, (int)Math.Ceiling(fraction * members.Count - 1e-9));
            foreach (var i in members.Take(take)) keep[i] = true;
        }
        return keep;
    }

    /// <summary>How many times labelled rows are repeated when labels are rare: floor(log2(floor(1/rate))), at least 1 (as in GAN-BERT).</summary>
    public static int LabelledRepeats(double labeledFraction) =>
        labeledFraction >= 1 ? 1 : Math.Max(1, (int)Math.Floor(Math.Log2(Math.Floor(1 / labeledFraction))));

    /// <summary>
    /// An epoch's batches of row indices. GAN-BERT: labelled rows (repeated when rare) and
    /// unlabelled rows shuffled together. Supervised only: as many batches, drawn from the
    /// labelled rows alone.
    /// </summary>
    static List<int[]> Batches(int[] labelIndex, bool[] keepLabel, DetectorTrainingOptions o, int epoch)
    {
        var rng = new Random(o.Seed * 7919 + epoch);
        var labelled = Enumerable.Range(0, labelIndex.Length).Where(i => labelIndex[i] >= 0 && keepLabel[i]).ToList();
        var unlabelled = Enumerable.Range(0, labelIndex.Length).Where(i => !(labelIndex[i] >= 0 && keepLabel[i])).ToList();
        if (o.UnlabelledPerLabelled is { } ratio)
        {
            // The same seeded choice in every epoch (its own generator, not the epoch's).
            var choice = new Random(o.Seed * 104729);
            int keep = Math.Min(unlabelled.Count, (int)Math.Ceiling(ratio * labelled.Count - 1e-9));
            unlabelled = unlabelled.OrderBy(_ => choice.Next()).Take(keep).Order().ToList();
        }
        int repeats = o.LabelledRepeatsPerEpoch ?? LabelledRepeats(o.LabeledFraction);
        var all = Enumerable.Repeat(labelled, repeats).SelectMany(x => x).Concat(unlabelled).OrderBy(_ => rng.Next()).ToList();
        int steps = (all.Count + o.BatchSize - 1) / o.BatchSize;
        if (!o.Adversarial)
        {
            var stream = new List<int>();
            while (stream.Count < steps * o.BatchSize) stream.AddRange(labelled.OrderBy(_ => rng.Next()));
            all = stream.Take(Math.Min(stream.Count, all.Count)).ToList();
        }
        return all.Chunk(o.BatchSize).ToList();
    }
}
