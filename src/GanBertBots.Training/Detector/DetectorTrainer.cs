using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GanBertBots.Models;
using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Training.Detector;

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
    public string RealClass { get; init; } = "human";
    public int MaxLength { get; init; } = 256;
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 32;
    /// <summary>Encoder + discriminator learning rate; null = 1e-3 for the small backbone, 5e-5 for pretrained encoders.</summary>
    public double? LearningRate { get; init; }
    /// <summary>Generator learning rate; null = the same as <see cref="LearningRate"/>.</summary>
    public double? GeneratorLearningRate { get; init; }
    /// <summary>Fraction of the labelled rows whose label is kept (per class, at least one); the rest train as unlabelled.</summary>
    public double LabeledFraction { get; init; } = 1.0;
    /// <summary>GAN-BERT (true) or the same backbone and head on L_sup alone (false).</summary>
    public bool Adversarial { get; init; } = true;
    public int Seed { get; init; } = 42;
    public required string OutputDirectory { get; init; }
    /// <summary>Continue from the checkpoint and training state in <see cref="OutputDirectory"/>.</summary>
    public bool Resume { get; init; }
    public TorchPlacement Placement { get; init; } = TorchPlacement.Cpu;
    /// <summary>Shape of the small backbone; null = <see cref="BertConfig.Small"/>.</summary>
    public BertConfig? SmallEncoder { get; init; }
}

/// <summary>One epoch's numbers.</summary>
public sealed record EpochRecord(int Epoch, double DiscriminatorLoss, double GeneratorLoss, double SupervisedLoss,
    double TrainAccuracy, double? ValidationAccuracy, double? ValidationMacroF1, double Seconds);

/// <summary>Where training is, for progress bars.</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int Steps, double DiscriminatorLoss, double GeneratorLoss);

public sealed record TrainingOutcome(string Directory, DetectorConfig Config, IReadOnlyList<EpochRecord> History);

/// <summary>
/// Trains a GAN-BERT detector (or its supervised-only twin) and writes a detector directory
/// after every epoch: config.json, model.safetensors, vocab.txt, plus training-state.json
/// (epochs done, history, which rows kept their labels) and both optimisers' state, so that
/// <see cref="DetectorTrainingOptions.Resume"/> continues exactly where it stopped.
/// </summary>
public static class DetectorTrainer
{
    public const string StateFile = "training-state.json";

    public static TrainingOutcome Train(DetectorTrainingOptions o, IReadOnlyList<LabelledText> train, IReadOnlyList<LabelledText>? validation = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (o.Epochs < 1) throw new UserFacingException($"epochs must be at least 1 (got {o.Epochs})");
        if (o.BatchSize < 1) throw new UserFacingException($"batch size must be at least 1 (got {o.BatchSize})");
        if (o.LabeledFraction is <= 0 or > 1) throw new UserFacingException($"labelled fraction must be in (0, 1] (got {o.LabeledFraction})");
        if (train.Count == 0) throw new UserFacingException("no training rows");

        string statePath = Path.Combine(o.OutputDirectory, StateFile);
        bool resuming = o.Resume && File.Exists(statePath);
        if (o.Resume && !resuming && File.Exists(Path.Combine(o.OutputDirectory, DetectorCheckpoint.ConfigFile)))
            throw new UserFacingException($"{o.OutputDirectory}: holds a detector but no {StateFile}: nothing to resume");
        if (!o.Resume && File.Exists(statePath))
            throw new UserFacingException($"{o.OutputDirectory}: already holds a training run; pass --resume to continue it or choose another --out");
        Directory.CreateDirectory(o.OutputDirectory);

        DetectorConfig config;
        GanBertNetwork network;
        var history = new List<EpochRecord>();
        int epochsDone = 0;
        bool[] keepLabel;
        if (resuming)
        {
            var state = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject ?? throw new CheckpointException($"{statePath}: not a JSON object");
            config = DetectorCheckpoint.ReadConfig(o.OutputDirectory);
            epochsDone = state["epochs_done"]!.GetValue<int>();
            history = JsonSerializer.Deserialize<List<EpochRecord>>(state["history"]!.ToJsonString()) ?? new();
            keepLabel = JsonSerializer.Deserialize<bool[]>(state["kept_labels"]!.ToJsonString())!;
            if (keepLabel.Length != train.Count)
                throw new UserFacingException($"{statePath}: the run was trained on {keepLabel.Length} rows, this data has {train.Count}; resume with the same data");
            network = DetectorCheckpoint.LoadNetwork(o.OutputDirectory, config, o.Placement);
        }
        else
        {
            var classes = o.Classes ?? ClassesOf(train);
            var encoder = BuildEncoder(o, out string vocab);
            config = new DetectorConfig
            {
                Backbone = o.Backbone, Encoder = encoder.Config, Classes = classes,
                RealClass = classes.Contains(o.RealClass) ? o.RealClass : null, MaxLength = o.MaxLength,
                Training = new JsonObject
                {
                    ["adversarial"] = o.Adversarial, ["labeled_fraction"] = o.LabeledFraction, ["seed"] = o.Seed,
                    ["batch_size"] = o.BatchSize, ["train_rows"] = train.Count,
                },
            };
            config.Validate(o.OutputDirectory);
            network = new GanBertNetwork(encoder, classes.Count);
            network.to(o.Placement.Device, o.Placement.DType);
            keepLabel = ChooseLabelled(train, o.LabeledFraction, o.Seed);
            File.Copy(vocab, Path.Combine(o.OutputDirectory, DetectorCheckpoint.VocabFile), overwrite: true);
        }

        var unknown = train.Where(r => r.Label is not null && !config.Classes.Contains(r.Label)).Select(r => r.Label).Distinct().ToList();
        if (unknown.Count > 0)
            throw new UserFacingException($"labels not in the class set ({string.Join(", ", config.Classes)}): {string.Join(", ", unknown)}");

        var tokenizer = new BertWordPieceTokenizer(Path.Combine(o.OutputDirectory, DetectorCheckpoint.VocabFile), config.MaxLength, config.LowerCase);
        var encoded = train.Select(r => tokenizer.Encode(r.Text)).ToArray();
        var labelIndex = train.Select(r => r.Label is null ? -1 : config.Classes.ToList().IndexOf(r.Label)).ToArray();
        bool pretrained = o.Backbone != "small";
        double lr = o.LearningRate ?? (pretrained ? 5e-5 : 1e-3);
        using var noise = new torch.Generator((ulong)(o.Seed * 1000L + epochsDone));
        using var optimisation = new GanBertOptimisation(network, lr, o.GeneratorLearningRate ?? lr, o.Adversarial, noise);
        if (resuming) optimisation.TryLoad(o.OutputDirectory);

        try
        {
            for (int epoch = epochsDone + 1; epoch <= o.Epochs; epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                var watch = Stopwatch.StartNew();
                torch.manual_seed(o.Seed * 1000L + epoch);
                var batches = Batches(labelIndex, keepLabel, o, epoch);
                double sumD = 0, sumG = 0, sumSup = 0;
                int labelled = 0, correct = 0;
                for (int s = 0; s < batches.Count; s++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    var rows = batches[s];
                    var (ids, mask) = TokenBatch.Create(rows.Select(i => encoded[i]).ToList(), tokenizer.PadId, o.Placement.Device);
                    var labels = tensor(rows.Select(i => (long)Math.Max(labelIndex[i], 0)).ToArray()).to(o.Placement.Device);
                    var labelMask = tensor(rows.Select(i => labelIndex[i] >= 0 && keepLabel[i]).ToArray()).to(o.Placement.Device);
                    var step = optimisation.Step(ids, mask, labels, labelMask);
                    sumD += step.Discriminator; sumG += step.Generator; sumSup += step.Supervised;
                    labelled += step.Labelled; correct += step.Correct;
                    progress?.Report(new TrainingProgress(epoch, o.Epochs, s + 1, batches.Count, step.Discriminator, step.Generator));
                }
                double? valAcc = null, valF1 = null;
                if (validation is { Count: > 0 })
                {
                    using var detector = GanBertDetector.FromNetwork(network, config, tokenizer, o.Placement, ownsNetwork: false);
                    var report = DetectorEvaluation.Evaluate(detector, validation);
                    valAcc = report.Accuracy;
                    valF1 = report.MacroF1;
                }
                int n = Math.Max(1, batches.Count);
                history.Add(new EpochRecord(epoch, sumD / n, sumG / n, sumSup / n, labelled == 0 ? 0 : (double)correct / labelled, valAcc, valF1, watch.Elapsed.TotalSeconds));
                config = config with { ModelVersion = $"{o.Backbone}-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-e{epoch}" };
                SaveEpoch(o.OutputDirectory, config, network, optimisation, epoch, history, keepLabel);
            }
        }
        finally
        {
            network.Dispose();
        }
        return new TrainingOutcome(o.OutputDirectory, config, history);
    }

    static void SaveEpoch(string dir, DetectorConfig config, GanBertNetwork network, GanBertOptimisation optimisation, int epoch, List<EpochRecord> history, bool[] keepLabel)
    {
        DetectorCheckpoint.Save(dir, config, network, Path.Combine(dir, DetectorCheckpoint.VocabFile));
        optimisation.Save(dir);
        var state = new JsonObject
        {
            ["epochs_done"] = epoch,
            ["history"] = JsonNode.Parse(JsonSerializer.Serialize(history)),
            ["kept_labels"] = JsonNode.Parse(JsonSerializer.Serialize(keepLabel)),
        };
        string path = Path.Combine(dir, StateFile);
        File.WriteAllText(path + ".partial", state.ToJsonString());
        File.Move(path + ".partial", path, overwrite: true);
    }

    /// <summary>The history of a trained detector directory (empty when it has none).</summary>
    public static IReadOnlyList<EpochRecord> ReadHistory(string directory)
    {
        string path = Path.Combine(directory, StateFile);
        if (!File.Exists(path)) return [];
        var state = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
        return JsonSerializer.Deserialize<List<EpochRecord>>(state?["history"]?.ToJsonString() ?? "[]") ?? [];
    }

    static BertEncoder BuildEncoder(DetectorTrainingOptions o, out string vocab)
    {
        switch (o.Backbone)
        {
            case "small":
                vocab = o.VocabPath ?? throw new UserFacingException("the small backbone needs a vocab.txt (--vocab)");
                int vocabSize = File.Exists(vocab) ? File.ReadLines(vocab).Count() : throw new UserFacingException($"{vocab}: vocabulary file not found");
                var small = o.SmallEncoder ?? BertConfig.Small(vocabSize, o.MaxLength);
                if (small.VocabSize != vocabSize) throw new UserFacingException($"small encoder vocab size {small.VocabSize} differs from {vocab}'s {vocabSize}");
                torch.manual_seed(o.Seed);
                return new BertEncoder(small);
            case "bert":
            case "distilbert":
                string dir = o.EncoderDirectory ?? throw new UserFacingException($"the {o.Backbone} backbone needs its checkpoint directory");
                vocab = o.VocabPath ?? Path.Combine(dir, "vocab.txt");
                if (!File.Exists(vocab)) throw new UserFacingException($"{vocab}: vocabulary file not found (pass --vocab)");
                var encoder = BertWeights.LoadEncoder(dir, TorchPlacement.Cpu, o.Backbone == "bert" ? EncoderKind.Bert : EncoderKind.DistilBert);
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
        int Rank(string c) => DetectorConfig.DefaultClasses.ToList().IndexOf(c) is var i and >= 0 ? i : int.MaxValue;
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
        int repeats = LabelledRepeats(o.LabeledFraction);
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
