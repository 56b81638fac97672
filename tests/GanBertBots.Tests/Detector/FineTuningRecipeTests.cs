using System.Text.Json.Nodes;
using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Testing;
using GanBertBots.Training.Detector;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

/// <summary>
/// The fine-tuning recipe for pretrained encoders (issue 12 item 2): the schedule's values at chosen steps, which
/// parameters decay, layer-wise rates, a frozen encoder, mean pooling against a hand-computed mean, and pooling kept
/// in the detector's checkpoint.
/// </summary>
[Collection(TorchRandomSequence.Name)] // seeded runs compared bit for bit (resume, step on features) draw from the process-wide generator
public sealed class FineTuningRecipeTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("recipe").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Linear_schedule_warms_up_then_decays_and_the_optimiser_applies_it()
    {
        // 20 steps, 10% warm-up = 2 steps: 1/2, 2/2, then (20 - s + 1)/(20 - 2 + 1).
        var recipe = FineTuningRecipe.ForPretrained(1e-4);
        Assert.Equal(2, recipe.WarmupSteps(20));
        Assert.Equal(0.5, recipe.Factor(1, 20), 12);
        Assert.Equal(1.0, recipe.Factor(2, 20), 12);
        Assert.Equal(18.0 / 19, recipe.Factor(3, 20), 12);
        Assert.Equal(9.0 / 19, recipe.Factor(12, 20), 12);
        Assert.Equal(1.0 / 19, recipe.Factor(20, 20), 12);
        // 25% of 10 steps: ceil(2.5) = 3 warm-up steps.
        var quarter = recipe with { WarmupFraction = 0.25 };
        Assert.Equal(1.0 / 3, quarter.Factor(1, 10), 12);
        Assert.Equal(8.0 / 8, quarter.Factor(3, 10), 12);
        Assert.Equal(7.0 / 8, quarter.Factor(4, 10), 12);
        // The small backbone's habit: constant.
        Assert.Equal(1.0, FineTuningRecipe.ForSmall().Factor(1, 20));
        Assert.Equal(1.0, FineTuningRecipe.ForSmall().Factor(20, 20));

        // The optimiser sets every group's rate to base · factor before each step.
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 3, dropout: 0);
        using var __ = network;
        using var opt = new GanBertOptimisation(network, recipe, totalSteps: 20, adversarial: false);
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(new[] { "apple river", "vector neural" }.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        var labels = tensor(new long[] { 0, 1 });
        var labelled = tensor(new[] { true, true });
        var expected = new[] { 0.5e-4, 1e-4, 1e-4 * 18 / 19 };
        for (int s = 0; s < 3; s++)
        {
            opt.Step(ids, mask, labels, labelled);
            Assert.All(opt.DiscriminatorRates, r => Assert.Equal(expected[s], r, 15));
        }
        Assert.Equal(3, opt.StepsTaken);
    }

    [Fact]
    public void Weight_decay_is_kept_off_biases_and_layer_norms_and_layers_get_decayed_rates()
    {
        torch_seed(1);
        var config = SyntheticDetector.TinyEncoder(30) with { Layers = 2 };
        using var network = new GanBertNetwork(new BertEncoder(config), 2);
        var recipe = FineTuningRecipe.ForPretrained(1e-4) with { WeightDecay = 0.05, LayerLearningRateDecay = 0.5 };
        var groups = recipe.DiscriminatorGroups(network);
        var decayOf = groups.SelectMany(g => g.Names.Select(n => (n, g.WeightDecay))).ToDictionary(x => x.n, x => x.WeightDecay);
        var rateOf = groups.SelectMany(g => g.Names.Select(n => (n, g.LearningRate))).ToDictionary(x => x.n, x => x.LearningRate);

        // Every encoder and discriminator parameter is in exactly one group.
        Assert.Equal(network.Encoder.named_parameters().Count() + network.Discriminator.named_parameters().Count(), decayOf.Count);
        Assert.Equal(0.05, decayOf["encoder.embeddings.word_embeddings.weight"]);
        Assert.Equal(0.05, decayOf["encoder.layers.1.attention.query.weight"]);
        Assert.Equal(0.05, decayOf["discriminator.classifier.weight"]);
        Assert.Equal(0.0, decayOf["encoder.layers.1.attention.query.bias"]);
        Assert.Equal(0.0, decayOf["encoder.embeddings.norm.weight"]);
        Assert.Equal(0.0, decayOf["encoder.layers.0.attention_norm.weight"]);
        Assert.Equal(0.0, decayOf["encoder.layers.0.output_norm.bias"]);
        Assert.Equal(0.0, decayOf["discriminator.classifier.bias"]);
        // L = 2: layer 2 (index 1) gets lr, layer 1 lr·0.5, the embeddings lr·0.25, the head lr.
        Assert.Equal(1e-4, rateOf["encoder.layers.1.intermediate.weight"], 15);
        Assert.Equal(0.5e-4, rateOf["encoder.layers.0.intermediate.weight"], 15);
        Assert.Equal(0.25e-4, rateOf["encoder.embeddings.position_embeddings.weight"], 15);
        Assert.Equal(1e-4, rateOf["discriminator.hidden.weight"], 15);

        var generator = recipe.GeneratorGroups(network).SelectMany(g => g.Names.Select(n => (n, g.WeightDecay))).ToDictionary(x => x.n, x => x.WeightDecay);
        Assert.Equal(0.05, generator["generator.output.weight"]);
        Assert.Equal(0.0, generator["generator.output.bias"]);

        // A head rate moves the discriminator (and the generator, unless it has its own) and leaves the encoder's rates.
        var headed = recipe with { HeadLearningRate = 2e-3 };
        var headRate = headed.DiscriminatorGroups(network).SelectMany(g => g.Names.Select(n => (n, g.LearningRate))).ToDictionary(x => x.n, x => x.LearningRate);
        Assert.Equal(2e-3, headRate["discriminator.hidden.weight"], 15);
        Assert.Equal(2e-3, headRate["discriminator.classifier.bias"], 15);
        Assert.Equal(rateOf.Where(kv => kv.Key.StartsWith("encoder.")), headRate.Where(kv => kv.Key.StartsWith("encoder.")));
        Assert.All(headed.GeneratorGroups(network), g => Assert.Equal(2e-3, g.LearningRate, 15));
        Assert.All((headed with { GeneratorLearningRate = 3e-4 }).GeneratorGroups(network), g => Assert.Equal(3e-4, g.LearningRate, 15));
        Assert.Contains("--head-lr", Assert.Throws<GanBertBots.Models.UserFacingException>(() => (recipe with { HeadLearningRate = -1 }).Validate()).Message);
    }

    [Fact]
    public void Decoupled_weight_decay_shrinks_a_weight_without_gradient_and_leaves_its_bias()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 4, dropout: 0);
        using var __ = network;
        var recipe = FineTuningRecipe.ForSmall(0.1) with { WeightDecay = 0.5, FreezeEncoder = true };
        using var opt = new GanBertOptimisation(network, recipe, totalSteps: 1, adversarial: false);
        var weightBefore = Values(network.Discriminator, "classifier.weight");
        var biasBefore = Values(network.Discriminator, "classifier.bias");
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(new[] { "apple" }.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        opt.Step(ids, mask, tensor(new long[] { 0 }), tensor(new[] { true }));
        // The classifier's fake-class row (index k = 3) gets no gradient from L_sup (the fake
        // logit is outside the k-way softmax), so its AdamW update is the decay alone: w ← w − lr·wd·w = 0.95·w.
        var weightAfter = Values(network.Discriminator, "classifier.weight");
        var biasAfter = Values(network.Discriminator, "classifier.bias");
        int h = (int)(weightBefore.Length / 4);
        for (int i = 0; i < h; i++) Assert.Equal(weightBefore[3 * h + i] * 0.95, weightAfter[3 * h + i], 1e-6);
        Assert.Equal(biasBefore[3], biasAfter[3]); // a bias does not decay
        Assert.NotEqual(weightBefore[0], weightAfter[0]); // a class row does learn
    }

    static float[] Values(TorchSharp.torch.nn.Module module, string name) =>
        module.named_parameters().Single(p => p.name == name).parameter.detach().cpu().data<float>().ToArray();

    [Fact]
    public void A_frozen_encoder_stays_bit_identical_while_the_head_learns()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 5);
        using var __ = network;
        var encoderBefore = network.Encoder.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().data<float>().ToArray());
        var headBefore = network.Discriminator.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().data<float>().ToArray());
        using var opt = new GanBertOptimisation(network, FineTuningRecipe.ForPretrained(1e-2) with { FreezeEncoder = true }, 4, adversarial: true, new Generator(1));
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(new[] { "apple river", "vector neural", "the stone" }.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        for (int s = 0; s < 2; s++)
            opt.Step(ids, mask, tensor(new long[] { 0, 1, 0 }), tensor(new[] { true, true, false }));

        foreach (var (name, p) in network.Encoder.named_parameters())
            Assert.True(encoderBefore[name].SequenceEqual(p.detach().data<float>().ToArray()), $"frozen encoder weight {name} changed");
        Assert.Contains(network.Discriminator.named_parameters(), p => !headBefore[p.name].SequenceEqual(p.parameter.detach().data<float>().ToArray()));
    }

    [Fact]
    public void With_a_frozen_encoder_a_step_on_features_computed_once_is_bit_identical_to_a_full_step()
    {
        // Two identical networks and noise sources: one trained with Step (encoder forward every step), the other with
        // StepOnFeatures on features computed once beforehand, as the trainer does for a frozen encoder.
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (full, _, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 7);
        var (cached, _, _) = SyntheticDetector.Untrained(vocab, seed: 7);
        using var __ = full;
        using var ___ = cached;
        var recipe = FineTuningRecipe.ForPretrained(1e-2) with { FreezeEncoder = true };
        using var optFull = new GanBertOptimisation(full, recipe, 6, adversarial: true, new Generator(9));
        using var optCached = new GanBertOptimisation(cached, recipe, 6, adversarial: true, new Generator(9));
        Assert.False(optCached.EncoderTrains);
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(new[] { "apple river", "vector neural", "the stone" }.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        cached.Encoder.eval();
        Tensor features;
        using (no_grad()) features = cached.Encoder.forward(ids, mask);
        var labels = tensor(new long[] { 0, 1, 0 });
        var labelled = tensor(new[] { true, true, false });
        for (int s = 0; s < 3; s++)
        {
            torch_seed(100 + s); // the head's dropout draws the same masks on both sides
            var a = optFull.Step(ids, mask, labels, labelled);
            torch_seed(100 + s);
            var b = optCached.StepOnFeatures(features, labels, labelled);
            Assert.Equal(a, b);
        }
        foreach (var (name, p) in full.named_parameters())
            Assert.True(Values(cached, name).SequenceEqual(p.detach().data<float>().ToArray()), $"{name} differs");

        // A trained encoder has no features to compute beforehand.
        var (open, _, _) = SyntheticDetector.Untrained(vocab, seed: 7);
        using var ____ = open;
        using var optOpen = new GanBertOptimisation(open, FineTuningRecipe.ForPretrained(1e-2), 6, adversarial: true);
        Assert.True(optOpen.EncoderTrains);
        Assert.Throws<InvalidOperationException>(() => optOpen.StepOnFeatures(features, labels, labelled));
    }

    [Fact]
    public void Mean_pooling_is_the_mean_of_the_hidden_states_over_the_unmasked_tokens()
    {
        torch_seed(2);
        using var encoder = new BertEncoder(SyntheticDetector.TinyEncoder(30) with { Pooling = Pooling.Mean });
        encoder.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(new long[] { 2, 7, 8, 9, 3, 2, 10, 3, 0, 0 }, new long[] { 2, 5 });
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, new long[] { 2, 5 });
        var hidden = encoder.Hidden(encoder.Words(ids), mask).data<float>().ToArray();   // [2, 5, 16] flattened
        var pooled = encoder.forward(ids, mask).data<float>().ToArray();                   // [2, 16]
        const int T = 5, H = 16;
        int[] real = [5, 3];
        for (int b = 0; b < 2; b++)
            for (int j = 0; j < H; j++)
            {
                double sum = 0;
                for (int t = 0; t < real[b]; t++) sum += hidden[(b * T + t) * H + j];
                Assert.Equal(sum / real[b], pooled[b * H + j], 5);
            }
        // The padded row's mean is not the mean over all five positions (padding states are not zero).
        double all = Enumerable.Range(0, T).Sum(t => (double)hidden[(1 * T + t) * H]) / T;
        Assert.NotEqual(all, pooled[H], 3);
    }

    /// <summary>A tiny random BERT in Hugging Face layout with a 23-token vocabulary (its size).</summary>
    string TinyBertDirectory()
    {
        string dir = new TinyBert(distil: false, seed: 9).SaveWithVocabulary(Path.Combine(_dir, "tiny-bert"));
        return dir;
    }

    [Fact]
    public void Pooling_is_stored_in_the_checkpoint_and_a_mean_pooled_detector_round_trips()
    {
        string bert = TinyBertDirectory();
        var tokenizer = new BertWordPieceTokenizer(Path.Combine(bert, "vocab.txt"), maxLength: 16);
        var config = new DetectorConfig
        {
            Backbone = "bert", Encoder = BertConfig.Load(bert) with { Pooling = Pooling.Mean }, Classes = ["human", "gpt2"], MaxLength = 16, ModelVersion = "mean-1",
        };
        torch_seed(3);
        var network = new GanBertNetwork(BertWeights.LoadEncoder(bert, TorchPlacement.Cpu, pooling: Pooling.Mean), 2);
        network.eval();
        string[] texts = ["apple river stone", "vector neural robot signal", "the quiet horse and the binary circuit"];
        double[][] before;
        using (var detector = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu))
        {
            before = detector.Detect(texts).Select(d => config.Classes.Select(c => d.Probabilities[c]).ToArray()).ToArray();
            DetectorCheckpoint.Save(Path.Combine(_dir, "saved"), config, network, Path.Combine(bert, "vocab.txt"));
        }
        var stored = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "saved", "config.json")))!;
        Assert.Equal("mean", stored["encoder"]!["pooling"]!.GetValue<string>());

        using var loaded = GanBertDetector.Load(Path.Combine(_dir, "saved"), TorchPlacement.Cpu);
        Assert.Equal(Pooling.Mean, loaded.Config.Pooling);
        var after = loaded.Detect(texts).Select(d => config.Classes.Select(c => d.Probabilities[c]).ToArray()).ToArray();
        for (int i = 0; i < texts.Length; i++) Assert.Equal(before[i], after[i]);

        // A checkpoint written before pooling was stored (no "pooling" field) loads as it was trained then: BERT's pooler.
        var old = (JsonObject)stored["encoder"]!.DeepClone();
        old.Remove("pooling");
        Assert.Equal(Pooling.Pooler, BertConfig.FromJson(old, "old").Pooling);
        old["pooling"] = "max";
        Assert.Contains("pooling 'max'", Assert.Throws<GanBertBots.Models.CheckpointException>(() => BertConfig.FromJson(old, "bad")).Message);
    }

    [Fact]
    public void Train_detector_pools_by_mean_for_a_pretrained_encoder_unless_cls_is_asked_for()
    {
        string bert = TinyBertDirectory();
        var rows = SyntheticDetector.Rows(24, seed: 1);
        DetectorTrainingOptions Options(string outDir, Pooling? pooling) => new()
        {
            Backbone = "bert", EncoderDirectory = bert, OutputDirectory = outDir, Epochs = 1, BatchSize = 8, MaxLength = 16,
            Pooling = pooling, Seed = 1,
        };
        var mean = DetectorTrainer.Train(Options(Path.Combine(_dir, "mean"), null), rows);
        Assert.Equal(Pooling.Mean, mean.Config.Pooling);
        Assert.Equal("linear", mean.Config.Training["recipe"]!["schedule"]!.GetValue<string>());
        Assert.Equal(0.1, mean.Config.Training["recipe"]!["warmup"]!.GetValue<double>());
        Assert.Equal(5e-5, mean.Config.Training["recipe"]!["learning_rate"]!.GetValue<double>());
        var cls = DetectorTrainer.Train(Options(Path.Combine(_dir, "cls"), Pooling.Cls), rows);
        Assert.Equal(Pooling.Pooler, cls.Config.Pooling);
        using var detector = GanBertDetector.Load(Path.Combine(_dir, "mean"), TorchPlacement.Cpu);
        Assert.Equal(Pooling.Mean, detector.Config.Pooling);

        var bad = Assert.Throws<GanBertBots.Models.UserFacingException>(() =>
            DetectorTrainer.Validate(Options(Path.Combine(_dir, "bad"), null) with { WarmupFraction = 1.5 }));
        Assert.Contains("--warmup", bad.Message);
    }

    [Fact]
    public void A_resumed_run_continues_the_schedule_where_it_stopped()
    {
        string bert = TinyBertDirectory();
        var rows = SyntheticDetector.Rows(24, seed: 2);
        DetectorTrainingOptions Options(string outDir, int epochs, bool resume = false) => new()
        {
            Backbone = "bert", EncoderDirectory = bert, OutputDirectory = outDir, Epochs = epochs, BatchSize = 8, MaxLength = 16,
            Seed = 3, Resume = resume, LearningRate = 1e-3, WarmupFraction = 0.3, LayerLearningRateDecay = 0.8,
        };
        var whole = DetectorTrainer.Train(Options(Path.Combine(_dir, "whole"), 3), rows);
        // The same 3-epoch run, stopped as epoch 2 begins (epoch 1 is committed), then resumed.
        using var stop = new CancellationTokenSource();
        var stopAtEpoch2 = new StepProgress(p => { if (p.Epoch == 2) stop.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => DetectorTrainer.Train(Options(Path.Combine(_dir, "parts"), 3), rows, progress: stopAtEpoch2, cancellation: stop.Token));
        Assert.Single(DetectorTrainer.ReadHistory(Path.Combine(_dir, "parts")));
        var resumed = DetectorTrainer.Train(Options(Path.Combine(_dir, "parts"), 3, resume: true), rows);
        // Same losses in every epoch: the warm-up and decay went on from step 4 of 9, not from step 1 again.
        Assert.Equal(whole.History.Select(h => (h.DiscriminatorLoss, h.GeneratorLoss, h.SupervisedLoss)),
                     resumed.History.Select(h => (h.DiscriminatorLoss, h.GeneratorLoss, h.SupervisedLoss)));
    }

    [Fact]
    public void The_rounds_detector_settings_give_the_recipe_and_name_a_bad_key()
    {
        var defaults = new RoundDetectorOptions();
        Assert.Equal(LearningRateSchedule.Linear, defaults.RecipeFor("bert").Schedule);
        Assert.Equal(0.1, defaults.RecipeFor("bert").WarmupFraction);
        Assert.Equal(2e-5, defaults.RecipeFor("bert").LearningRate);
        Assert.Equal(LearningRateSchedule.Constant, defaults.RecipeFor("small").Schedule);
        var set = new RoundDetectorOptions { Warmup = 0.2, WeightDecay = 0.1, LayerLrDecay = 0.9, FreezeEncoder = true }.RecipeFor("small");
        Assert.Equal((LearningRateSchedule.Linear, 0.2, 0.1, 0.9, true), (set.Schedule, set.WarmupFraction, set.WeightDecay, set.LayerLearningRateDecay, set.FreezeEncoder));
        Assert.Contains("Retraining:Detector:LayerLrDecay", Assert.Throws<ArgumentException>(() => new RoundDetectorOptions { LayerLrDecay = 0 }.Validate()).Message);
        Assert.Contains("Retraining:Detector:Warmup", Assert.Throws<ArgumentException>(() => new RoundDetectorOptions { Warmup = 1 }.Validate()).Message);
    }

    [Fact]
    public void Optimiser_state_with_other_parameter_groups_is_a_clear_error_on_resume()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, _, _) = SyntheticDetector.Untrained(vocab, seed: 6);
        using var __ = network;
        using (var layered = new GanBertOptimisation(network, FineTuningRecipe.ForPretrained() with { LayerLearningRateDecay = 0.5 }, 10, adversarial: true))
            layered.Save(_dir);
        using var plain = new GanBertOptimisation(network, FineTuningRecipe.ForPretrained(), 10, adversarial: true);
        var e = Assert.Throws<GanBertBots.Models.UserFacingException>(() => plain.TryLoad(_dir));
        Assert.Contains("the optimiser state does not fit this run's parameter groups", e.Message);
    }

    sealed class StepProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    static void torch_seed(long seed) => TorchSharp.torch.manual_seed(seed);
}
