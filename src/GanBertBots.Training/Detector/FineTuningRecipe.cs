using System.Text.RegularExpressions;
using GanBertBots.Models;
using GanBertBots.Models.GanBert;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Training.Detector;

/// <summary>How the learning rate moves over a run.</summary>
public enum LearningRateSchedule
{
    /// <summary>The same rate at every step (the small from-scratch backbone's habit).</summary>
    Constant,
    /// <summary>Linear warm-up over the first <see cref="FineTuningRecipe.WarmupFraction"/> of the steps, then linear decay towards 0.</summary>
    Linear,
}

/// <summary>
/// How the optimiser treats the network: AdamW with decoupled weight decay (never on biases or LayerNorm weights),
/// the learning-rate schedule, layer-wise learning-rate decay and freezing of the encoder. Pretrained encoders are
/// fine-tuned with <see cref="ForPretrained"/> (BERT's recipe: small rate, warm-up, linear decay); the small
/// from-scratch backbone keeps a constant rate (<see cref="ForSmall"/>).
/// </summary>
public sealed partial record FineTuningRecipe
{
    /// <summary>The rate of the top of the network (head, pooler, last encoder layer).</summary>
    public required double LearningRate { get; init; }
    /// <summary>The generator's rate; null = the head's (<see cref="HeadLearningRate"/>, else <see cref="LearningRate"/>).</summary>
    public double? GeneratorLearningRate { get; init; }
    /// <summary>The GAN-BERT head's rate (the discriminator, trained from scratch on top of a pretrained encoder); null =
    /// <see cref="LearningRate"/>. The encoder keeps <see cref="LearningRate"/> (and its layer-wise decay).</summary>
    public double? HeadLearningRate { get; init; }
    /// <summary>AdamW's decoupled weight decay on weight matrices and embeddings (not on biases or LayerNorm).</summary>
    public double WeightDecay { get; init; } = 0.01;
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Linear;
    /// <summary>Share of all steps spent warming up (linear schedule only).</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>Layer l of L gets lr·X^(L−l), the embeddings lr·X^L; 1 = the same rate everywhere.</summary>
    public double LayerLearningRateDecay { get; init; } = 1.0;
    /// <summary>Train the head only: the encoder's weights get no gradient and stay as loaded.</summary>
    public bool FreezeEncoder { get; init; }
    /// <summary>Weight of the feature-matching term in the generator's loss (GAN-BERT: 1); 0 = the adversarial term alone.</summary>
    public double FeatureMatchingWeight { get; init; } = 1.0;
    /// <summary>Weight of <see cref="GanBertLosses.SpreadMatching"/> in the generator's loss (not in GAN-BERT, so 0 by default):
    /// the standard deviations of the generator's outputs are pulled towards the real encoder outputs', against a collapsed generator.</summary>
    public double SpreadMatchingWeight { get; init; }
    /// <summary>On CUDA, run float32 matmuls on TF32 tensor cores (TorchSharp 0.107 has no autocast). Ignored on the CPU.</summary>
    public bool MixedPrecision { get; init; } = true;

    /// <summary>The default learning rate for fine-tuning a pretrained encoder (MiniLM, BERT, DistilBERT).</summary>
    public const double PretrainedLearningRate = 5e-5;
    /// <summary>The default learning rate of the small backbone trained from scratch.</summary>
    public const double SmallLearningRate = 1e-3;

    public static FineTuningRecipe ForPretrained(double? learningRate = null) => new() { LearningRate = learningRate ?? PretrainedLearningRate };

    public static FineTuningRecipe ForSmall(double? learningRate = null) =>
        new() { LearningRate = learningRate ?? SmallLearningRate, Schedule = LearningRateSchedule.Constant, WarmupFraction = 0 };

    /// <summary>Throws <see cref="UserFacingException"/> naming the first bad value (as its option: --lr, --warmup...).</summary>
    public void Validate()
    {
        static bool Positive(double x) => double.IsFinite(x) && x > 0;
        if (!Positive(LearningRate)) throw new UserFacingException($"--lr must be a positive number (got {LearningRate})");
        if (GeneratorLearningRate is { } g && !Positive(g)) throw new UserFacingException($"--generator-lr must be a positive number (got {g})");
        if (HeadLearningRate is { } h && !Positive(h)) throw new UserFacingException($"--head-lr must be a positive number (got {h})");
        if (!(double.IsFinite(WeightDecay) && WeightDecay >= 0)) throw new UserFacingException($"--weight-decay must be 0 or more (got {WeightDecay})");
        if (!(WarmupFraction is >= 0 and < 1)) throw new UserFacingException($"--warmup must be a fraction of the steps in [0, 1) (got {WarmupFraction})");
        if (!(LayerLearningRateDecay is > 0 and <= 1)) throw new UserFacingException($"--layer-lr-decay must be in (0, 1] (got {LayerLearningRateDecay})");
        if (!(double.IsFinite(FeatureMatchingWeight) && FeatureMatchingWeight >= 0))
            throw new UserFacingException($"--feature-matching must be 0 or more (got {FeatureMatchingWeight})");
        if (!(double.IsFinite(SpreadMatchingWeight) && SpreadMatchingWeight >= 0))
            throw new UserFacingException($"--spread-matching must be 0 or more (got {SpreadMatchingWeight})");
    }

    /// <summary>Steps of warm-up in a run of <paramref name="totalSteps"/> steps.</summary>
    public int WarmupSteps(int totalSteps) =>
        Schedule == LearningRateSchedule.Linear ? (int)Math.Ceiling(WarmupFraction * totalSteps - 1e-9) : 0;

    /// <summary>
    /// The multiplier of every base rate at step <paramref name="step"/> (1-based) of <paramref name="totalSteps"/>.
    /// Linear: s/W during the W warm-up steps, then (N − s + 1)/(N − W + 1), so no step has a rate of 0
    /// (the first is lr/W, the last lr/(N − W + 1)). Constant: 1.
    /// </summary>
    public double Factor(int step, int totalSteps)
    {
        if (Schedule == LearningRateSchedule.Constant || totalSteps <= 0) return 1;
        step = Math.Clamp(step, 1, totalSteps);
        int w = WarmupSteps(totalSteps);
        if (step <= w) return (double)step / w;
        return (double)(totalSteps - step + 1) / (totalSteps - w + 1);
    }

    [GeneratedRegex(@"^layers\.(\d+)\.")]
    private static partial Regex EncoderLayer();

    /// <summary>
    /// The discriminator side's parameter groups: each with its base learning rate and whether weight decay applies.
    /// Encoder parameters are left out when frozen. Names are the network's (encoder.layers.3.output.weight...).
    /// </summary>
    public IReadOnlyList<ParameterGroup> DiscriminatorGroups(GanBertNetwork network)
    {
        var noDecay = NoDecayParameters(network);
        var groups = new List<ParameterGroup>();
        void Add(string name, Parameter p, double lr)
        {
            bool decays = !noDecay.Contains(p.Handle);
            var group = groups.FirstOrDefault(g => g.LearningRate == lr && g.WeightDecay == (decays ? WeightDecay : 0));
            if (group is null) groups.Add(group = new ParameterGroup(lr, decays ? WeightDecay : 0, []));
            group.Names.Add(name);
            group.Parameters.Add(p);
        }
        int layers = network.Encoder.Config.Layers;
        foreach (var (name, p) in network.Encoder.named_parameters())
        {
            if (FreezeEncoder || !p.requires_grad) continue;
            // Layer l (1-based) of L: lr·X^(L−l); embeddings below layer 1: lr·X^L; the pooler sits on top: lr.
            int depth = name.StartsWith("embeddings.", StringComparison.Ordinal) ? layers
                : EncoderLayer().Match(name) is { Success: true } m ? layers - (int.Parse(m.Groups[1].Value) + 1) : 0;
            Add("encoder." + name, p, LearningRate * Math.Pow(LayerLearningRateDecay, depth));
        }
        foreach (var (name, p) in network.Discriminator.named_parameters())
            if (p.requires_grad) Add("discriminator." + name, p, HeadLearningRate ?? LearningRate);
        return groups;
    }

    /// <summary>The generator's groups: its own rate, weight decay on its weight matrices only.</summary>
    public IReadOnlyList<ParameterGroup> GeneratorGroups(GanBertNetwork network)
    {
        double lr = GeneratorLearningRate ?? HeadLearningRate ?? LearningRate;
        var decay = new ParameterGroup(lr, WeightDecay, []);
        var none = new ParameterGroup(lr, 0, []);
        foreach (var (name, p) in network.Generator.named_parameters())
        {
            var g = name.EndsWith("bias", StringComparison.Ordinal) ? none : decay;
            g.Names.Add("generator." + name);
            g.Parameters.Add(p);
        }
        return new[] { decay, none }.Where(g => g.Parameters.Count > 0).ToList();
    }

    /// <summary>Biases and every LayerNorm parameter (found by module type, so the names do not matter).</summary>
    static HashSet<IntPtr> NoDecayParameters(nn.Module network)
    {
        var set = new HashSet<IntPtr>();
        foreach (var (_, module) in network.named_modules())
            if (module is LayerNorm norm)
                foreach (var p in norm.parameters()) set.Add(p.Handle);
        foreach (var (name, p) in network.named_parameters())
            if (name.EndsWith("bias", StringComparison.Ordinal)) set.Add(p.Handle);
        return set;
    }

    /// <summary>
    /// Stops gradients to the encoder's weights that stay as loaded: all of them with <see cref="FreezeEncoder"/>; with
    /// adapters (<see cref="Models.Bert.BertConfig.AdapterSize"/> &gt; 0) all but the adapters and LayerNorms.
    /// </summary>
    public void ApplyFreezing(GanBertNetwork network)
    {
        bool adapters = network.Encoder.Config.AdapterSize > 0;
        foreach (var (name, p) in network.Encoder.named_parameters())
            if (FreezeEncoder || (adapters && !DetectorCheckpoint.TrainedWithAdapters(name))) p.requires_grad = false;
    }
}

/// <summary>Parameters that share a base learning rate and a weight decay.</summary>
public sealed record ParameterGroup(double LearningRate, double WeightDecay, List<string> Names)
{
    public List<Parameter> Parameters { get; } = [];
}
