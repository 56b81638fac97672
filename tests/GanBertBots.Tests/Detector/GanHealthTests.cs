using GanBertBots.Models;
using GanBertBots.Models.GanBert;
using GanBertBots.Training.Detector;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

/// <summary>The knobs and the figures used to find out why GAN-BERT does or does not help: feature-matching weight,
/// unlabelled rows per labelled row, and each epoch's <see cref="GanHealth"/>.</summary>
[Collection(TorchRandomSequence.Name)]
public sealed class GanHealthTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("gan-health").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Tensor T(double[,] values) => tensor(values, dtype: ScalarType.Float32);

    // One batch for the loss tests: two generated rows judged by these logits, and 2-dimensional features.
    static Tensor FakeLogits() => T(new double[,] { { 0, 0, 2 }, { 1, 0, 0 } });
    static Tensor RealFeatures() => T(new double[,] { { 1, 2 }, { 3, 4 } });   // mean [2, 3], column std (n − 1) [√2, √2]
    static Tensor FakeFeatures() => T(new double[,] { { 0, 1 }, { 0, -1 } });  // mean [0, 0], column std [0, √2]

    /// <summary>−mean log(1 − p_fake + ε) of <see cref="FakeLogits"/>, by hand: p_fake = e²/(2 + e²) and 1/(e + 2).</summary>
    static double Adversarial()
    {
        double e = Math.E, eps = 1e-8;
        double p0 = e * e / (2 + e * e), p1 = 1 / (e + 2);
        return -(Math.Log(1 - p0 + eps) + Math.Log(1 - p1 + eps)) / 2;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(2.5)]
    public void Feature_matching_weight_scales_only_the_matching_term(double weight)
    {
        using var scope = NewDisposeScope();
        // matching: mean of (2 − 0)², (3 − 0)² = 6.5
        Assert.Equal(Adversarial() + weight * 6.5, GanBertLosses.Generator(FakeLogits(), RealFeatures(), FakeFeatures(), weight).item<float>(), 5);
    }

    [Fact]
    public void Spread_matching_is_the_squared_difference_of_the_standard_deviations()
    {
        using var scope = NewDisposeScope();
        // column std (n − 1): real [√2, √2], fake [0, √2]; mean of (√2 − 0)², (√2 − √2)² = 1, over (mean real std)² = 2
        Assert.Equal(0.5, GanBertLosses.SpreadMatching(RealFeatures(), FakeFeatures()).item<float>(), 5);
        // relative to the real spread: the same at another scale
        Assert.Equal(0.5, GanBertLosses.SpreadMatching(RealFeatures() * 1e-3, FakeFeatures() * 1e-3).item<float>(), 5);
        // One generated row has no spread: 0, not NaN.
        Assert.Equal(0f, GanBertLosses.SpreadMatching(RealFeatures(), FakeFeatures().narrow(0, 0, 1)).item<float>());
    }

    [Fact]
    public void Spread_matching_moves_the_generator_and_nothing_else()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var texts = new[] { "apple river stone", "vector neural", "the a and of is very then robot", "quiet" };
        Dictionary<string, float[]> StepWith(double weight)
        {
            var (network, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 21, dropout: 0);
            using var _ = network;
            using var scope = NewDisposeScope();
            var (ids, mask) = TokenBatch.Create(texts.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
            using var noise = new Generator(5);
            using var optimisation = new GanBertOptimisation(network, FineTuningRecipe.ForSmall(1e-2) with { SpreadMatchingWeight = weight },
                0, adversarial: true, noise);
            optimisation.Step(ids, mask, tensor(new long[] { 0, 1, 1, 0 }), tensor(new[] { true, true, false, false }));
            return network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().data<float>().ToArray());
        }
        var without = StepWith(0);
        var with = StepWith(50);
        foreach (var (name, values) in without)
            if (name.StartsWith("generator.", StringComparison.Ordinal)) Assert.False(values.SequenceEqual(with[name]), $"{name} did not move");
            else Assert.True(values.SequenceEqual(with[name]), $"{name} moved: the term reached the discriminator side");
    }

    /// <summary>Mean over columns of the unbiased standard deviation down each column, in float64.</summary>
    static double MeanColumnStd(float[] values, int rows, int columns)
    {
        double total = 0;
        for (int c = 0; c < columns; c++)
        {
            double mean = Enumerable.Range(0, rows).Average(r => (double)values[r * columns + c]);
            total += Math.Sqrt(Enumerable.Range(0, rows).Sum(r => Math.Pow(values[r * columns + c] - mean, 2)) / (rows - 1));
        }
        return total / columns;
    }

    [Fact]
    public void A_step_reports_what_the_discriminator_said_of_real_and_fake_and_the_generators_spread()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 21, dropout: 0);
        using var _ = network;
        var texts = new[] { "apple river stone", "vector neural", "the a and of is very then robot", "quiet", "matrix token" };
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(texts.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        var labels = tensor(new long[] { 0, 1, 1, 0, 1 });
        var labelMask = tensor(new[] { true, true, false, false, false });

        // What the step will see, computed beforehand from the same weights and the same noise draw (no dropout anywhere).
        double expectedReal, expectedFake, expectedSpread;
        using (no_grad())
        {
            var pooled = network.Encoder.forward(ids, mask);                                  // [5, H]
            using var sameNoise = new Generator(9);
            var fake = network.Generator.Sample(texts.Length, sameNoise);                     // [5, H]
            var pReal = GanBertLosses.FakeProbability(network.Discriminator.forward(pooled).Logits).data<float>().ToArray();
            var pFake = GanBertLosses.FakeProbability(network.Discriminator.forward(fake).Logits).data<float>().ToArray();
            expectedReal = pReal.Average(p => (double)p);
            expectedFake = pFake.Average(p => (double)p);
            int h = (int)pooled.shape[1];
            expectedSpread = MeanColumnStd(fake.data<float>().ToArray(), texts.Length, h) / MeanColumnStd(pooled.data<float>().ToArray(), texts.Length, h);
        }

        using var noise = new Generator(9);
        using var optimisation = new GanBertOptimisation(network, 1e-3, 1e-3, adversarial: true, noise);
        var health = optimisation.Step(ids, mask, labels, labelMask).Health!;
        Assert.Equal(expectedReal, health.RealJudgedFake, 5);
        Assert.Equal(expectedFake, health.FakeJudgedFake, 5);
        Assert.Equal(expectedSpread, health.Spread!.Value, 4);
        Assert.InRange(health.Spread!.Value, 1e-3, 1e3);
    }

    [Fact]
    public void A_collapsed_generator_has_spread_zero_and_supervised_steps_have_no_health()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 22, dropout: 0);
        using var _ = network;
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(new[] { "apple river", "vector neural", "quiet stone" }.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        var labels = tensor(new long[] { 0, 1, 0 });
        var labelMask = tensor(new[] { true, true, true });
        // Every z gives the output layer's bias: the generator has collapsed to one point.
        using (no_grad())
            foreach (var (name, p) in network.Generator.named_parameters())
                if (name.StartsWith("output.weight")) p.zero_();

        using var noise = new Generator(3);
        using (var gan = new GanBertOptimisation(network, 1e-3, 1e-3, adversarial: true, noise))
            Assert.Equal(0.0, gan.Step(ids, mask, labels, labelMask).Health!.Spread);
        using var supervised = new GanBertOptimisation(network, 1e-3, 1e-3, adversarial: false, noise);
        Assert.Null(supervised.Step(ids, mask, labels, labelMask).Health);
    }

    DetectorTrainingOptions Options(string vocab, string name, bool adversarial, double? ratio) => new()
    {
        Backbone = "small", VocabPath = vocab, OutputDirectory = Path.Combine(_dir, name), Epochs = 1, BatchSize = 8, MaxLength = 32,
        LabeledFraction = 0.5, Adversarial = adversarial, Seed = 7, LearningRate = 1e-2, UnlabelledPerLabelled = ratio,
        SmallEncoder = SyntheticDetector.TinyEncoder(File.ReadLines(vocab).Count()) with { MaxPositions = 32 },
    };

    [Fact]
    public void Unlabelled_ratio_caps_the_unlabelled_rows_and_the_epoch_history_keeps_the_health()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var train = SyntheticDetector.Rows(40, seed: 4); // 20 keep their labels at 0.5 (labelled once: log2(2) = 1)
        int Steps(DetectorTrainingOptions o, out TrainingOutcome outcome)
        {
            int steps = 0;
            outcome = DetectorTrainer.Train(o, train, progress: new SyncProgress<TrainingProgress>(p => steps = p.Steps));
            return steps;
        }

        Assert.Equal(5, Steps(Options(vocab, "all", true, null), out var all));           // 40 rows / 8
        Assert.Equal(4, Steps(Options(vocab, "half", true, 0.5), out _));                 // 20 + 10
        Assert.Equal(3, Steps(Options(vocab, "none", true, 0), out _));                   // 20 labelled only
        Assert.Equal(3, Steps(Options(vocab, "sup-none", false, 0), out var supervised)); // the baseline takes as many steps
        // Labelled rows twice (40) and no unlabelled: 5 steps; three times with all 20 unlabelled: 80 rows, 10 steps.
        Assert.Equal(5, Steps(Options(vocab, "twice", true, 0) with { LabelledRepeatsPerEpoch = 2 }, out var twice));
        Assert.Equal(10, Steps(Options(vocab, "thrice", true, null) with { LabelledRepeatsPerEpoch = 3 }, out _));
        Assert.Equal(2, (int)twice.Config.Training!["labelled_repeats"]!);
        Assert.Equal(1, (int)all.Config.Training!["labelled_repeats"]!); // GAN-BERT's rule at 0.5: log2(2)

        var health = all.History.Single().Health!;
        Assert.InRange(health.RealJudgedFake, 0, 1);
        Assert.InRange(health.FakeJudgedFake, 0, 1);
        Assert.True(health.Spread > 0);
        Assert.Equal(health, DetectorTrainer.ReadHistory(all.Directory).Single().Health); // kept in training-state.json
        Assert.Null(supervised.History.Single().Health);
        Assert.Null(all.Config.Training!["unlabelled_per_labelled"]);
    }

    [Fact]
    public void A_last_batch_of_one_text_has_no_spread_and_the_epoch_keeps_the_others()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var train = SyntheticDetector.Rows(41, seed: 4); // batches of 8: five full ones, then one text alone
        var outcome = DetectorTrainer.Train(Options(vocab, "odd", true, null) with { LabeledFraction = 1.0 }, train);
        var health = outcome.History.Single().Health!;
        Assert.NotNull(health.Spread);
        Assert.True(health.Spread > 0);
        Assert.Equal(health, DetectorTrainer.ReadHistory(outcome.Directory).Single().Health);
        Assert.Null(GanHealth.Mean([new GanHealth(0.1, 0.2, null)])!.Spread);
        Assert.Equal(0.5, GanHealth.Mean([new GanHealth(0.1, 0.2, null), new GanHealth(0.3, 0.4, 0.5)])!.Spread);
    }

    [Theory]
    [InlineData(-1.0, null, "--unlabelled-ratio")]
    [InlineData(null, -0.5, "--feature-matching")]
    [InlineData(double.NaN, null, "--unlabelled-ratio")]
    [InlineData(null, null, "--spread-matching", -2.0)]
    [InlineData(null, null, "--spread-matching", double.PositiveInfinity)]
    public void Bad_values_are_named(double? ratio, double? weight, string option, double spread = 0)
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var o = Options(vocab, "bad", true, ratio) with { FeatureMatchingWeight = weight ?? 1.0, SpreadMatchingWeight = spread };
        var e = Assert.Throws<UserFacingException>(() => DetectorTrainer.Validate(o));
        Assert.Contains(option, e.Message);
    }

    [Fact]
    public void Labelled_repeats_below_one_are_named()
    {
        var o = Options(SyntheticDetector.WriteVocab(_dir), "bad", true, null) with { LabelledRepeatsPerEpoch = 0 };
        Assert.Contains("--labelled-repeats must be 1 or more", Assert.Throws<UserFacingException>(() => DetectorTrainer.Validate(o)).Message);
    }

    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
