using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Training.Generator;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Training;

public class GeneratorTrainerTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("gentrain").FullName;
    public void Dispose() { try { Directory.Delete(_root, true); } catch (IOException) { } }

    static readonly string[] Places = { "north", "south", "east", "west" };
    static readonly string[] Hazards = { "fire", "flood", "storm" };

    /// <summary>A corpus with structure a small model must pick up: "hazard: the hazard moves place".</summary>
    static List<TweetExample> Corpus(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            string h = Hazards[rng.Next(Hazards.Length)], p = Places[rng.Next(Places.Length)];
            return new TweetExample(h, $"the {h} moves {p}");
        }).ToList();
    }

    (Gpt2LMHeadModel Model, Gpt2Tokenizer Tokenizer, string TokDir) Fresh()
    {
        string tokDir = ByteTokenizer.Write(Path.Combine(_root, "tok"));
        var tok = Gpt2Tokenizer.Load(tokDir);
        manual_seed(3);
        var model = new Gpt2LMHeadModel(GeneratorTrainingOptions.ScratchConfig("tiny", tok.VocabSize, tok.EndOfTextId, positions: 64));
        return (model, tok, tokDir);
    }

    static readonly GeneratorTrainingOptions Options = new() { Epochs = 2, BatchSize = 8, LearningRate = 3e-3, BlockSize = 48, WarmupFraction = 0.1 };

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var (model, tok, dir) = Fresh();
        using var _ = model;
        var t = new GeneratorTrainer(model, tok, dir, Options with { LearningRate = 1.0, WarmupFraction = 0.1, MinLearningRateRatio = 0.1 });
        Assert.Equal(0.1, t.LearningRate(0, 100), 10);        // step 1 of 10 warmup steps
        Assert.Equal(1.0, t.LearningRate(9, 100), 10);        // end of warmup: the peak
        Assert.Equal(0.55, t.LearningRate(55, 100), 2);       // half way through the decay: (1 + 0.1) / 2
        Assert.Equal(0.1, t.LearningRate(100, 100), 10);      // the floor
        Assert.True(t.LearningRate(30, 100) > t.LearningRate(60, 100));
    }

    [Fact]
    public void Training_lowers_held_out_perplexity_and_the_checkpoint_generates()
    {
        var (model, tok, dir) = Fresh();
        using var _ = model;
        var trainer = new GeneratorTrainer(model, tok, dir, Options with { Epochs = 3 });
        var heldOut = Corpus(24, 2);
        double before = trainer.Perplexity(heldOut);
        string outDir = Path.Combine(_root, "out");
        var history = trainer.Train(Corpus(160, 1), heldOut, outDir);
        Assert.Equal(3, history.Count);
        Assert.True(history[^1].HeldOutPerplexity < before / 5, $"perplexity {before:F1} -> {history[^1].HeldOutPerplexity:F1}");
        Assert.True(history[^1].HeldOutPerplexity < history[0].HeldOutPerplexity);

        // The checkpoint is a complete Hugging Face folder: generation reads it, and greedy text follows the corpus' form.
        using var gen = TextGenerator.Load(outDir, TorchPlacement.Cpu);
        var text = gen.Generate(new[] { TweetComposer.Compose("flood").PromptText }, new GenerationOptions { Temperature = 0, MaxNewTokens = 20 }, prependEndOfText: true)[0].Text;
        Assert.StartsWith(" the flood moves ", text);
    }

    [Fact]
    public void Resuming_after_an_epoch_gives_the_same_weights_as_training_straight_through()
    {
        var data = Corpus(40, 5);
        var heldOut = Corpus(8, 6);
        string straight = Path.Combine(_root, "straight"), resumed = Path.Combine(_root, "resumed"), init = Path.Combine(_root, "init");
        // Both runs start from one saved model: torch's global generator is shared with tests running in parallel.
        var (initial, tok, dir) = Fresh();
        using (initial) Gpt2Checkpoint.Save(initial, init);
        {
            using var model = Gpt2Checkpoint.Load(init);
            new GeneratorTrainer(model, tok, dir, Options).Train(data, heldOut, straight);
        }
        {
            // The same run, interrupted once its first epoch is checkpointed.
            using var model = Gpt2Checkpoint.Load(init);
            using var cts = new CancellationTokenSource();
            var stopAfterFirstEpoch = new InlineProgress(p => { if (p.HeldOutPerplexity is not null && p.Epoch == 1) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() =>
                new GeneratorTrainer(model, tok, dir, Options).Train(data, heldOut, resumed, progress: stopAfterFirstEpoch, cancellation: cts.Token));
            Assert.Equal(1, GeneratorTrainer.TrainerState.TryLoad(resumed)!.EpochsDone);
        }
        {
            var savedTokenizer = Gpt2Tokenizer.Load(resumed);
            using var model = Gpt2Checkpoint.Load(resumed);
            var history = new GeneratorTrainer(model, savedTokenizer, resumed, Options).Train(data, heldOut, resumed, resume: true);
            Assert.Equal(new[] { 1, 2 }, history.Select(h => h.Epoch));
        }
        using var a = Gpt2Checkpoint.Load(straight);
        using var b = Gpt2Checkpoint.Load(resumed);
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.equal(pb).all().item<bool>(), $"{name} differs after resume");
    }

    sealed class InlineProgress(Action<GeneratorTrainingProgress> report) : IProgress<GeneratorTrainingProgress>
    {
        public void Report(GeneratorTrainingProgress value) => report(value);
    }

    [Fact]
    public void A_crash_between_the_folder_swaps_recovers_the_previous_checkpoint()
    {
        string target = Path.Combine(_root, "ckpt");
        Directory.CreateDirectory(target + ".old");
        File.WriteAllText(Path.Combine(target + ".old", "config.json"), "{}");
        Assert.Equal(target, CheckpointFolders.Recover(target));
        Assert.True(File.Exists(Path.Combine(target, "config.json")));
        Directory.CreateDirectory(target + ".partial");
        File.WriteAllText(Path.Combine(target + ".partial", "config.json"), "{\"new\":1}");
        CheckpointFolders.Swap(target + ".partial", target);
        Assert.Equal("{\"new\":1}", File.ReadAllText(Path.Combine(target, "config.json")));
        Assert.False(Directory.Exists(target + ".old"));
    }
}
