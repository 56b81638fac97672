using GanBertBots.Models.Gpt2;

namespace GanBertBots.Training.Generator;

/// <summary>Causal-LM training settings for the tweet generator.</summary>
public sealed record GeneratorTrainingOptions
{
    public int Epochs { get; init; } = 3;
    /// <summary>Examples per micro-batch.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Micro-batches whose gradients add up to one optimiser step.</summary>
    public int GradientAccumulation { get; init; } = 1;
    public double LearningRate { get; init; } = 5e-4;
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Share of all steps spent warming the learning rate up linearly from 0.</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>The cosine decay ends at this share of the peak learning rate.</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;
    /// <summary>Gradient norm clipping (0: off).</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Longest example in tokens (longer ones are cut).</summary>
    public int BlockSize { get; init; } = 96;
    public long Seed { get; init; } = 1234;

    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException("epochs must be at least 1");
        if (BatchSize < 1) throw new ArgumentException("batch size must be at least 1");
        if (GradientAccumulation < 1) throw new ArgumentException("gradient accumulation must be at least 1");
        if (!(LearningRate > 0)) throw new ArgumentException("learning rate must be positive");
        if (WarmupFraction is < 0 or >= 1) throw new ArgumentException("warmup fraction must be in [0, 1)");
        if (BlockSize < 4) throw new ArgumentException("block size must be at least 4 tokens");
    }

    /// <summary>
    /// Model sizes for training from scratch on a CPU: "tiny" (2 layers, 64 wide), "small" (4 x 128),
    /// "medium" (6 x 256) and "gpt2" (GPT-2 small's shape, 124M).
    /// </summary>
    public static Gpt2Config ScratchConfig(string size, int vocabSize, int eosId, int positions = 256) => size.ToLowerInvariant() switch
    {
        "tiny" => new Gpt2Config { Layers = 2, Embedding = 64, Heads = 2, MaxPositions = positions, VocabSize = vocabSize, EosTokenId = eosId, BosTokenId = eosId },
        "small" => new Gpt2Config { Layers = 4, Embedding = 128, Heads = 4, MaxPositions = positions, VocabSize = vocabSize, EosTokenId = eosId, BosTokenId = eosId },
        "medium" => new Gpt2Config { Layers = 6, Embedding = 256, Heads = 8, MaxPositions = positions, VocabSize = vocabSize, EosTokenId = eosId, BosTokenId = eosId },
        "gpt2" => Gpt2Config.Small with { VocabSize = vocabSize, EosTokenId = eosId, BosTokenId = eosId },
        _ => throw new ArgumentException($"unknown scratch size '{size}' (tiny, small, medium, gpt2)"),
    };
}

/// <summary>One tweet for training: its keyword (may be empty) and text.</summary>
public sealed record TweetExample(string? Keyword, string Text);

/// <summary>Reported after every optimiser step and at the end of each epoch.</summary>
public sealed record GeneratorTrainingProgress(int Epoch, int Epochs, long Step, long TotalSteps, double Loss, double LearningRate, double? HeldOutPerplexity);

/// <summary>Per-epoch figures, kept in trainer_state.json for curves and resumption.</summary>
public sealed record GeneratorEpochRecord(int Epoch, long Step, double TrainLoss, double HeldOutPerplexity);
