using GanBertBots.Models.GanBert;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Training.Detector;

/// <summary>Which side of the GAN a step updates (both, in training; one at a time in tests).</summary>
[Flags]
public enum StepParts { Generator = 1, Discriminator = 2, Both = Generator | Discriminator }

/// <summary>What one step measured (losses as numbers, and how the labelled rows were classified).</summary>
public sealed record StepLosses(double Discriminator, double Generator, double Supervised, int Labelled, int Correct)
{
    /// <summary>How the GAN stood at this step; null for supervised-only steps.</summary>
    public GanHealth? Health { get; init; }
}

/// <summary>
/// How the adversarial game stands, from one batch: the discriminator's mean p_fake on the real texts and on the
/// generator's outputs, and the generator's spread: the mean over dimensions of the standard deviation (across the batch) of
/// its outputs over that of the real encoder outputs. A spread near 0 is a collapsed generator (every z gives the same
/// vector); p_fake(real) near 0 with p_fake(fake) near 1 is a discriminator that tells them apart at no cost, so the
/// fake class teaches the encoder nothing. The spread is null for a batch of one text (no spread to measure).
/// </summary>
public sealed record GanHealth(double RealJudgedFake, double FakeJudgedFake, double? Spread)
{
    /// <summary>The mean of several steps' figures (an epoch's; the spread over the steps that have one); null when none has any.</summary>
    public static GanHealth? Mean(IEnumerable<GanHealth?> steps)
    {
        var all = steps.OfType<GanHealth>().ToList();
        var spreads = all.Select(h => h.Spread).OfType<double>().ToList();
        return all.Count == 0 ? null
            : new GanHealth(all.Average(h => h.RealJudgedFake), all.Average(h => h.FakeJudgedFake), spreads.Count == 0 ? null : spreads.Average());
    }

    public override string ToString() => $"p_fake real {RealJudgedFake:F3} fake {FakeJudgedFake:F3} spread " + (Spread is { } s ? $"{s:F2}" : "n/a");
}

/// <summary>
/// One optimisation step of GAN-BERT with two AdamW optimisers: one for the encoder and the
/// discriminator, one for the generator. Unlike the reference notebook, the two losses are kept
/// apart: the generator's loss sees the real features detached (so it cannot reach the encoder)
/// and only the generator's optimiser applies its gradients; the discriminator's loss sees the
/// generator's output detached (so it cannot reach the generator), and its gradients are
/// computed after the generator's have been cleared from the discriminator.
/// With <c>adversarial: false</c> it is the same backbone and head trained on L_sup alone.
/// </summary>
public sealed class GanBertOptimisation : IDisposable
{
    readonly GanBertNetwork _network;
    readonly TorchSharp.Modules.AdamW _discriminator;
    readonly TorchSharp.Modules.AdamW _generator;
    readonly double[] _discriminatorRates, _generatorRates; // base rate of each group, before the schedule
    readonly torch.Generator? _noise;

    public bool Adversarial { get; }
    public FineTuningRecipe Recipe { get; }
    /// <summary>Steps in the whole run (the schedule's N); 0 = the schedule's factor stays 1.</summary>
    public int TotalSteps { get; }
    /// <summary>Steps taken so far (set it when resuming, so the schedule continues where it was).</summary>
    public int StepsTaken { get; set; }

    /// <summary>Constant rates, weight decay 0.01 on weights only; the encoder trained in full.</summary>
    public GanBertOptimisation(GanBertNetwork network, double discriminatorLearningRate, double generatorLearningRate, bool adversarial, torch.Generator? noise = null)
        : this(network, FineTuningRecipe.ForSmall(discriminatorLearningRate) with { GeneratorLearningRate = generatorLearningRate }, 0, adversarial, noise)
    {
    }

    /// <param name="totalSteps">Steps in the whole run, for the schedule.</param>
    /// <param name="noise">Random source for the generator's input; null = torch's global generator.</param>
    public GanBertOptimisation(GanBertNetwork network, FineTuningRecipe recipe, int totalSteps, bool adversarial, torch.Generator? noise = null)
    {
        recipe.Validate();
        _network = network;
        _noise = noise;
        Adversarial = adversarial;
        Recipe = recipe;
        TotalSteps = totalSteps;
        recipe.ApplyFreezing(network);
        (_discriminator, _discriminatorRates) = AdamW(recipe.DiscriminatorGroups(network));
        (_generator, _generatorRates) = AdamW(recipe.GeneratorGroups(network));
    }

    static (TorchSharp.Modules.AdamW, double[]) AdamW(IReadOnlyList<ParameterGroup> groups)
    {
        var torchGroups = groups.Select(g => new TorchSharp.Modules.AdamW.ParamGroup(g.Parameters,
            new TorchSharp.Modules.AdamW.Options { LearningRate = g.LearningRate, weight_decay = g.WeightDecay })).ToList();
        return (optim.AdamW(torchGroups), groups.Select(g => g.LearningRate).ToArray());
    }

    /// <summary>The rate each discriminator-side group has now (after the schedule), in group order.</summary>
    public IReadOnlyList<double> DiscriminatorRates => _discriminator.ParamGroups.Select(g => g.LearningRate).ToList();

    /// <summary>Sets every group's rate for step <see cref="StepsTaken"/> + 1.</summary>
    void Schedule()
    {
        double factor = Recipe.Factor(StepsTaken + 1, TotalSteps);
        int i = 0;
        foreach (var g in _discriminator.ParamGroups) g.LearningRate = _discriminatorRates[i++] * factor;
        i = 0;
        foreach (var g in _generator.ParamGroups) g.LearningRate = _generatorRates[i++] * factor;
    }

    /// <param name="ids">[B, T] token ids</param>
    /// <param name="mask">[B, T] attention mask</param>
    /// <param name="labels">[B] class index (anything on unlabelled rows)</param>
    /// <param name="labelMask">[B] bool, true on labelled rows</param>
    /// <param name="weights">[B] per-row weights of the supervised loss (a weighted mean over labelled rows); null = unweighted</param>
    public StepLosses Step(Tensor ids, Tensor mask, Tensor labels, Tensor labelMask, StepParts parts = StepParts.Both, Tensor? weights = null)
    {
        using var scope = NewDisposeScope();
        _network.train();
        if (Recipe.FreezeEncoder) _network.Encoder.eval(); // a frozen encoder gives the same features every time (no dropout)
        var pooled = _network.Encoder.forward(ids, mask);                        // [B, H]
        return StepFrom(pooled, labels, labelMask, parts, weights);
    }

    /// <summary>
    /// The same step from the encoder's pooled output, computed beforehand: what a frozen encoder would give
    /// (see <see cref="EncoderTrains"/>). Bit-identical to <see cref="Step"/> on the same features.
    /// </summary>
    /// <param name="pooled">[B, H] the encoder's pooled output for the batch</param>
    public StepLosses StepOnFeatures(Tensor pooled, Tensor labels, Tensor labelMask, StepParts parts = StepParts.Both, Tensor? weights = null)
    {
        if (EncoderTrains) throw new InvalidOperationException("the encoder trains: its features change every step and cannot be computed beforehand");
        using var scope = NewDisposeScope();
        _network.train();
        _network.Encoder.eval();
        return StepFrom(pooled, labels, labelMask, parts, weights);
    }

    /// <summary>True when some encoder parameter is trained (full fine-tuning, adapters); false when the encoder is frozen.</summary>
    public bool EncoderTrains => _network.Encoder.parameters().Any(p => p.requires_grad);

    StepLosses StepFrom(Tensor pooled, Tensor labels, Tensor labelMask, StepParts parts, Tensor? weights)
    {
        Schedule();
        StepsTaken++;
        var (realFeatures, realLogits) = _network.Discriminator.forward(pooled);  // [B, H], [B, k+1]
        int labelled = (int)labelMask.sum().item<long>();
        int correct = labelled == 0 ? 0 : (int)realLogits.narrow(1, 0, _network.Discriminator.Classes).argmax(1)
            .eq(labels).logical_and(labelMask).sum().item<long>();

        if (!Adversarial)
        {
            var supervised = GanBertLosses.Supervised(realLogits, labels, labelMask, weights);
            if (parts.HasFlag(StepParts.Discriminator) && labelled > 0)
            {
                _discriminator.zero_grad();
                supervised.backward();
                _discriminator.step();
            }
            double s = supervised.item<float>();
            return new StepLosses(s, 0, s, labelled, correct);
        }

        var fake = _network.Generator.Sample(pooled.shape[0], _noise);                       // [B, H]
        // Generator: D judges G(z) with gradients flowing back into G; the real features are constants.
        var (fakeFeatures, fakeLogitsForG) = _network.Discriminator.forward(fake);
        var generatorLoss = GanBertLosses.Generator(fakeLogitsForG, realFeatures.detach(), fakeFeatures, Recipe.FeatureMatchingWeight);
        if (Recipe.SpreadMatchingWeight > 0) // G's outputs spread as the real encoder outputs do (constants here too)
            generatorLoss = generatorLoss + Recipe.SpreadMatchingWeight * GanBertLosses.SpreadMatching(pooled.detach(), fake);
        // Discriminator: G(z) is a constant input.
        var (_, fakeLogitsForD) = _network.Discriminator.forward(fake.detach());
        using var d = GanBertLosses.Discriminator(realLogits, fakeLogitsForD, labels, labelMask, weights);

        _generator.zero_grad();
        _discriminator.zero_grad();
        generatorLoss.backward();            // fills G's gradients (and D's, which are thrown away below)
        if (parts.HasFlag(StepParts.Generator)) _generator.step();
        _discriminator.zero_grad();          // D and the encoder start clean: nothing of L_G reaches them
        if (parts.HasFlag(StepParts.Discriminator))
        {
            d.Total.backward();
            _discriminator.step();
        }
        return new StepLosses(d.Total.item<float>(), generatorLoss.item<float>(), d.Supervised.item<float>(), labelled, correct)
        {
            Health = Health(pooled, fake, realLogits, fakeLogitsForD),
        };
    }

    /// <summary>The batch's <see cref="GanHealth"/> (no gradients; no spread for a batch of one text). One read from the
    /// device for all four figures (each read is a synchronisation on a GPU).</summary>
    /// <param name="pooled">[B, H] real encoder outputs</param>
    /// <param name="fake">[B, H] generator outputs</param>
    static GanHealth Health(Tensor pooled, Tensor fake, Tensor realLogits, Tensor fakeLogits)
    {
        using var scope = NewDisposeScope();
        using var mode = torch.no_grad();
        bool spreads = pooled.shape[0] >= 2;
        var parts = new List<Tensor> { GanBertLosses.FakeProbability(realLogits).mean(), GanBertLosses.FakeProbability(fakeLogits).mean() };
        if (spreads) parts.AddRange([fake.std(0).mean(), pooled.std(0).mean()]);                          // [H] -> scalar each
        var f = torch.stack(parts).cpu().data<float>().ToArray();                                         // [2] or [4]
        return new GanHealth(f[0], f[1], spreads ? f[2] / Math.Max((double)f[3], 1e-12) : null);
    }

    public void Save(string directory)
    {
        _discriminator.save_state_dict(Path.Combine(directory, "optimizer-discriminator.bin"));
        _generator.save_state_dict(Path.Combine(directory, "optimizer-generator.bin"));
    }

    /// <summary>Restores both optimisers' state (moments, step counts) when the files are there; returns whether they were.</summary>
    public bool TryLoad(string directory)
    {
        string d = Path.Combine(directory, "optimizer-discriminator.bin"), g = Path.Combine(directory, "optimizer-generator.bin");
        if (!File.Exists(d) || !File.Exists(g)) return false;
        try
        {
            _discriminator.load_state_dict(d);
            _generator.load_state_dict(g);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Runs started before the fine-tuning recipe kept one parameter group per optimiser; the recipe keeps several.
            throw new GanBertBots.Models.UserFacingException($"{directory}: the optimiser state does not fit this run's parameter groups " +
                $"(written by an older trainer, or with other --freeze-encoder/--layer-lr-decay/--weight-decay settings): {e.Message}; " +
                "resume with the settings the run started with, or start a new run", e);
        }
        return true;
    }

    public void Dispose()
    {
        _discriminator.Dispose();
        _generator.Dispose();
    }
}
