using System.Text.Json;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Training.Generator;

/// <summary>
/// Causal language-model training of GPT-2 on tweets: each example is "&lt;|endoftext|&gt;keyword: tweet&lt;|endoftext|&gt;"
/// (the format <see cref="TweetComposer"/> prompts with). AdamW, linear warmup then cosine decay,
/// gradient clipping and accumulation, held-out perplexity each epoch, and a checkpoint in the
/// Hugging Face layout after each epoch that <c>generate</c> reads and <c>--resume</c> continues from.
/// </summary>
public sealed class GeneratorTrainer
{
    public const string StateFile = "trainer_state.json";
    public const string OptimizerFile = "optimizer.bin";

    readonly Gpt2LMHeadModel _model;
    readonly Gpt2Tokenizer _tokenizer;
    readonly GeneratorTrainingOptions _options;
    readonly string _tokenizerDir;

    /// <param name="tokenizerDir">Where the tokenizer files are; they are copied into every checkpoint.</param>
    public GeneratorTrainer(Gpt2LMHeadModel model, Gpt2Tokenizer tokenizer, string tokenizerDir, GeneratorTrainingOptions options)
    {
        options.Validate();
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize}");
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        _tokenizerDir = tokenizerDir;
    }

    /// <summary>Token ids of one training example: end-of-text, "keyword: text", end-of-text; cut to the block size + 1.</summary>
    public int[] Encode(TweetExample e) =>
        CausalLm.Encode(_tokenizer, e, Math.Min(_options.BlockSize, _model.Config.MaxPositions) + 1);

    /// <summary>Trains, writing a checkpoint into <paramref name="outDir"/> after every epoch. Returns the per-epoch history.</summary>
    public IReadOnlyList<GeneratorEpochRecord> Train(IReadOnlyList<TweetExample> train, IReadOnlyList<TweetExample> heldOut, string outDir,
        bool resume = false, IProgress<GeneratorTrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (train.Count == 0) throw new ArgumentException("no training examples");
        var trainIds = train.Select(Encode).ToList();
        var heldOutIds = heldOut.Select(Encode).ToList();
        int microBatches = (trainIds.Count + _options.BatchSize - 1) / _options.BatchSize;
        long stepsPerEpoch = (microBatches + _options.GradientAccumulation - 1) / _options.GradientAccumulation;
        long totalSteps = stepsPerEpoch * _options.Epochs;

        using var optimizer = new AdamW(_model.parameters(), lr: _options.LearningRate, weight_decay: _options.WeightDecay);
        var history = new List<GeneratorEpochRecord>();
        int startEpoch = 0;
        long step = 0;
        if (resume && TrainerState.TryLoad(outDir) is { } state)
        {
            optimizer.load_state_dict(Path.Combine(outDir, OptimizerFile));
            history.AddRange(state.History);
            startEpoch = state.EpochsDone;
            step = state.Step;
        }

        for (int epoch = startEpoch; epoch < _options.Epochs; epoch++)
        {
            _model.train();
            var order = Shuffle(trainIds.Count, _options.Seed + epoch);
            double lossSum = 0; long lossCount = 0;
            for (int mb = 0; mb < microBatches; mb++)
            {
                cancellation.ThrowIfCancellationRequested();
                var rows = order.Skip(mb * _options.BatchSize).Take(_options.BatchSize).Select(i => trainIds[i]).ToList();
                double loss = ForwardBackward(rows, 1.0 / _options.GradientAccumulation);
                lossSum += loss; lossCount++;
                bool stepNow = (mb + 1) % _options.GradientAccumulation == 0 || mb == microBatches - 1;
                if (!stepNow) continue;
                double lr = LearningRate(step, totalSteps);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                if (_options.ClipNorm > 0) nn.utils.clip_grad_norm_(_model.parameters(), _options.ClipNorm);
                optimizer.step();
                optimizer.zero_grad();
                step++;
                progress?.Report(new GeneratorTrainingProgress(epoch + 1, _options.Epochs, step, totalSteps, loss, lr, null));
            }
            double ppl = heldOutIds.Count > 0 ? Perplexity(_model, heldOutIds, _options.BatchSize) : double.NaN;
            history.Add(new GeneratorEpochRecord(epoch + 1, step, lossSum / Math.Max(1, lossCount), ppl));
            progress?.Report(new GeneratorTrainingProgress(epoch + 1, _options.Epochs, step, totalSteps, lossSum / Math.Max(1, lossCount), LearningRate(step, totalSteps), ppl));
            SaveCheckpoint(outDir, optimizer, new TrainerState(epoch + 1, step, history));
        }
        _model.eval();
        return history;
    }

    /// <summary>Linear warmup to the peak, then cosine decay to MinLearningRateRatio x peak.</summary>
    public double LearningRate(long step, long totalSteps)
    {
        double peak = _options.LearningRate;
        long warmup = (long)Math.Ceiling(_options.WarmupFraction * totalSteps);
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = totalSteps <= warmup ? 1 : Math.Min(1.0, (double)(step - warmup) / (totalSteps - warmup));
        double floor = peak * _options.MinLearningRateRatio;
        return floor + (peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>Mean token cross-entropy of one micro-batch; gradients scaled by <paramref name="scale"/> are added.</summary>
    double ForwardBackward(IReadOnlyList<int[]> rows, double scale)
    {
        using var scope = NewDisposeScope();
        var loss = CausalLm.Loss(_model, rows, _tokenizer.EndOfTextId);
        (loss * scale).backward();
        return loss.item<float>();
    }

    /// <summary>exp(mean negative log-likelihood per predicted token) over the examples.</summary>
    public static double Perplexity(Gpt2LMHeadModel model, IReadOnlyList<int[]> examples, int batchSize, int padId = 0)
    {
        bool wasTraining = model.training;
        model.eval();
        double nll = 0; long tokens = 0;
        using (no_grad())
            for (int i = 0; i < examples.Count; i += batchSize)
            {
                using var scope = NewDisposeScope();
                var rows = examples.Skip(i).Take(batchSize).ToList();
                nll += CausalLm.Loss(model, rows, padId, nn.Reduction.Sum).item<float>();
                tokens += CausalLm.PredictedTokens(rows);
            }
        if (wasTraining) model.train();
        return tokens == 0 ? double.NaN : Math.Exp(nll / tokens);
    }

    public double Perplexity(IReadOnlyList<TweetExample> examples) =>
        Perplexity(_model, examples.Select(Encode).ToList(), _options.BatchSize, _tokenizer.EndOfTextId);

    static readonly string[] TokenizerFileNames =
        { "vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" };

    /// <summary>Copies whichever GPT-2 tokenizer files exist in <paramref name="from"/>.</summary>
    public static void CopyTokenizerFiles(string from, string to)
    {
        if (Path.GetFullPath(from) == Path.GetFullPath(to)) return;
        foreach (var f in TokenizerFileNames)
            if (File.Exists(Path.Combine(from, f))) File.Copy(Path.Combine(from, f), Path.Combine(to, f), overwrite: true);
    }

    static int[] Shuffle(int n, long seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random((int)(seed % int.MaxValue)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// Writes weights, config, tokenizer files, optimiser and trainer state into a fresh folder, then
    /// swaps it in for <paramref name="outDir"/>: a crash leaves the previous checkpoint whole.
    /// </summary>
    void SaveCheckpoint(string outDir, OptimizerHelper optimizer, TrainerState state)
    {
        string full = Path.GetFullPath(outDir);
        string staging = full + ".partial";
        if (Directory.Exists(staging)) Directory.Delete(staging, true);
        Gpt2Checkpoint.Save(_model, staging);
        CopyTokenizerFiles(_tokenizerDir, staging);
        optimizer.save_state_dict(Path.Combine(staging, OptimizerFile));
        state.Save(staging);
        CheckpointFolders.Swap(staging, full);
    }

    /// <summary>Progress saved beside a checkpoint so training can resume after the last finished epoch.</summary>
    public sealed record TrainerState(int EpochsDone, long Step, IReadOnlyList<GeneratorEpochRecord> History)
    {
        public void Save(string dir) =>
            File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));

        public static TrainerState? TryLoad(string dir)
        {
            string path = Path.Combine(CheckpointFolders.Recover(Path.GetFullPath(dir)), StateFile);
            if (!File.Exists(path) || !File.Exists(Path.Combine(dir, OptimizerFile))) return null;
            try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path)); }
            catch (JsonException e) { throw new FormatException($"{path}: corrupt trainer state ({e.Message}); delete it to start over", e); }
        }
    }
}

/// <summary>Replacing one checkpoint folder with another so that one of them is always whole.</summary>
public static class CheckpointFolders
{
    /// <summary>staging becomes target; the old target is kept as target.old until the new one is in place.</summary>
    public static void Swap(string staging, string target)
    {
        string old = target + ".old";
        if (Directory.Exists(old)) Directory.Delete(old, true);
        if (Directory.Exists(target)) Directory.Move(target, old);
        Directory.Move(staging, target);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    /// <summary>After a crash between the two moves of <see cref="Swap"/>, puts the old folder back. Returns target.</summary>
    public static string Recover(string target)
    {
        string old = target + ".old";
        if (!Directory.Exists(target) && Directory.Exists(old)) Directory.Move(old, target);
        return target;
    }
}
