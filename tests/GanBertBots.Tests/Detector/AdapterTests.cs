using GanBertBots.Models;
using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.IO;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Testing;
using GanBertBots.Tests.Support;
using GanBertBots.Training.Detector;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

/// <summary>
/// Houlsby adapters on a frozen pretrained encoder (issue 12 item 3): they start as the identity, training moves only
/// adapters, LayerNorms and the head, the checkpoint holds only those beside the base encoder's directory and sha256,
/// it loads back to the same probabilities, and a missing or different base encoder is a clear error.
/// </summary>
public sealed class AdapterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("adapters").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string TinyBertDirectory(string name = "tiny-bert", int seed = 9)
    {
        string dir = new TinyBert(distil: false, seed: seed).SaveWithVocabulary(Path.Combine(_dir, name));
        return dir;
    }

    static Dictionary<string, float[]> Values(nn.Module module) =>
        module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().data<float>().ToArray());

    [Fact]
    public void New_adapters_are_the_identity_so_the_encoder_computes_what_it_did()
    {
        string bert = TinyBertDirectory();
        using var plain = BertWeights.LoadEncoder(bert, TorchPlacement.Cpu, pooling: Pooling.Mean);
        using var adapted = BertWeights.LoadEncoder(bert, TorchPlacement.Cpu, pooling: Pooling.Mean, adapterSize: 3);
        Assert.Equal(TinyBert.Layers * 2 * 4, adapted.named_parameters().Count(p => BertWeights.IsAdapter(p.name))); // down/up weight/bias, 2 per layer
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(new long[] { 2, 7, 8, 20, 3 }, new long[] { 1, 5 });
        var mask = ones(1, 5, ScalarType.Int64);
        Assert.Equal(plain.Hidden(plain.Words(ids), mask).data<float>().ToArray(), adapted.Hidden(adapted.Words(ids), mask).data<float>().ToArray());
    }

    /// <summary>A detector network with adapters over the tiny BERT, after a few steps (so the adapters are no longer the identity).</summary>
    (GanBertNetwork Network, DetectorConfig Config, BertWordPieceTokenizer Tokenizer) Trained(string bert, int steps)
    {
        manual_seed(4);
        var encoder = BertWeights.LoadEncoder(bert, TorchPlacement.Cpu, pooling: Pooling.Mean, adapterSize: 4);
        var network = new GanBertNetwork(encoder, 2);
        var config = new DetectorConfig
        {
            Backbone = "bert", Encoder = encoder.Config, Classes = ["human", "gpt2"], MaxLength = 16, ModelVersion = "adapters-1",
            BaseEncoder = BaseEncoderReference.Of(bert),
        };
        var tokenizer = new BertWordPieceTokenizer(Path.Combine(bert, "vocab.txt"), maxLength: 16);
        using var opt = new GanBertOptimisation(network, FineTuningRecipe.ForPretrained(1e-2), steps, adversarial: true, new Generator(2));
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(new[] { "apple river stone", "vector neural robot", "the quiet horse" }.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        for (int s = 0; s < steps; s++)
            opt.Step(ids, mask, tensor(new long[] { 0, 1, 0 }), tensor(new[] { true, true, false }));
        return (network, config, tokenizer);
    }

    [Fact]
    public void Training_moves_adapters_layer_norms_and_head_and_never_the_base_weights()
    {
        string bert = TinyBertDirectory();
        string hash = BaseEncoderReference.HashOf(bert);
        using var before = BertWeights.LoadEncoder(bert, TorchPlacement.Cpu, pooling: Pooling.Mean, adapterSize: 4);
        var start = Values(before);
        var (network, _, _) = Trained(bert, steps: 3);
        using var __ = network;
        var after = Values(network.Encoder);
        foreach (var (name, values) in after)
        {
            bool moves = DetectorCheckpoint.TrainedWithAdapters(name);
            if (!moves) Assert.True(start[name].SequenceEqual(values), $"base weight {name} changed");
        }
        Assert.Contains(after, kv => BertWeights.IsAdapter(kv.Key) && kv.Key.Contains(".up.weight") && kv.Value.Any(v => v != 0));
        Assert.Contains(after, kv => BertWeights.IsLayerNorm(kv.Key) && !start[kv.Key].SequenceEqual(kv.Value));
        Assert.Equal(hash, BaseEncoderReference.HashOf(bert)); // the files on disk too
    }

    [Fact]
    public void An_adapter_checkpoint_holds_only_what_trained_and_loads_to_the_same_probabilities()
    {
        string bert = TinyBertDirectory();
        var (network, config, tokenizer) = Trained(bert, steps: 3);
        string[] texts = ["apple river stone", "vector neural robot signal", "the quiet horse and the binary circuit"];
        string saved = Path.Combine(_dir, "detector");
        double[][] before;
        using (var detector = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu))
        {
            before = detector.Detect(texts).Select(d => config.Classes.Select(c => d.Probabilities[c]).ToArray()).ToArray();
            DetectorCheckpoint.Save(saved, config, network, Path.Combine(bert, "vocab.txt"));
        }
        var stored = SafeTensorsCheckpoint.Open(Path.Combine(saved, DetectorCheckpoint.WeightsFile)).Tensors.Keys.ToList();
        Assert.Contains("bert.encoder.layer.0.attention.output.adapter.up.weight", stored);
        Assert.Contains("bert.encoder.layer.1.output.adapter.down.bias", stored);
        Assert.Contains("bert.encoder.layer.1.output.LayerNorm.weight", stored);
        Assert.Contains("discriminator.classifier.weight", stored);
        Assert.DoesNotContain(stored, n => n.Contains("attention.self.query") || n.Contains("word_embeddings") || n.Contains("intermediate.dense"));

        using var loaded = GanBertDetector.Load(saved, TorchPlacement.Cpu);
        Assert.Equal(bert, loaded.Config.BaseEncoder!.Directory);
        var after = loaded.Detect(texts).Select(d => config.Classes.Select(c => d.Probabilities[c]).ToArray()).ToArray();
        for (int i = 0; i < texts.Length; i++) Assert.Equal(before[i], after[i]); // bit for bit
    }

    [Fact]
    public void A_missing_or_different_base_encoder_is_a_clear_error_and_the_models_directory_is_searched()
    {
        string bert = TinyBertDirectory();
        var (network, config, _) = Trained(bert, steps: 1);
        string saved = Path.Combine(_dir, "detector");
        DetectorCheckpoint.Save(saved, config, network, Path.Combine(bert, "vocab.txt"));
        network.Dispose();

        Assert.True(DetectorCheckpoint.Check(saved).IsLoadable);

        // Moved into a models directory: found there by its folder name.
        string models = Path.Combine(_dir, "models");
        Directory.CreateDirectory(models);
        Directory.Move(bert, Path.Combine(models, "tiny-bert"));
        using (var found = GanBertDetector.Load(saved, TorchPlacement.Cpu, encoderDirectories: [models])) Assert.Equal(2, found.Classes.Count);

        var missing = Assert.Throws<CheckpointException>(() => GanBertDetector.Load(saved, TorchPlacement.Cpu, encoderDirectories: [Path.Combine(_dir, "elsewhere")]));
        Assert.Contains($"its base encoder '{bert}' was not found", missing.Message);
        Assert.Contains(Path.Combine(_dir, "elsewhere", "tiny-bert"), missing.Message);
        var check = DetectorCheckpoint.Check(saved); // what `models list` and the service's start show
        Assert.False(check.IsLoadable);
        Assert.Contains("its base encoder", check.Problem);

        // Other weights where the base should be: refused, naming the hash.
        TinyBertDirectory(seed: 10);
        var different = Assert.Throws<CheckpointException>(() => GanBertDetector.Load(saved, TorchPlacement.Cpu));
        Assert.Contains("has other weights than the detector was trained on", different.Message);
        Assert.Contains(bert, different.Message);
    }

    [Fact]
    public async Task The_round_retrains_an_adapter_detector_as_adapters_and_ships_only_those()
    {
        string bert = TinyBertDirectory();
        string hash = BaseEncoderReference.HashOf(bert);
        var (network, config, _) = Trained(bert, steps: 1);
        string live = Path.Combine(_dir, "live");
        DetectorCheckpoint.Save(live, config, network, Path.Combine(bert, "vocab.txt"));
        network.Dispose();
        var labelled = SyntheticDetector.Rows(24, seed: 6).Select(r => new GanBertBots.Training.Rounds.WeightedText(r.Text, r.Label!, 1, "moderator")).ToList();
        string candidate = Path.Combine(_dir, "candidate");
        var trainer = new RoundDetectorTrainer(new RoundDetectorOptions { Epochs = 1, BatchSize = 8, LearningRate = 1e-2 }, TorchPlacement.Cpu);
        await trainer.TrainAsync(new GanBertBots.Training.Rounds.DetectorTrainingRequest(live, candidate,
            new GanBertBots.Training.Rounds.RoundData(labelled, [], []), [], "gpt2", Path.Combine(_dir, "report"), Seed: 1), CancellationToken.None);

        var stored = SafeTensorsCheckpoint.Open(Path.Combine(candidate, DetectorCheckpoint.WeightsFile)).Tensors.Keys.ToList();
        Assert.DoesNotContain(stored, n => n.Contains("attention.self.query") || n.Contains("word_embeddings"));
        using var before = GanBertDetector.Load(live, TorchPlacement.Cpu);
        using var after = GanBertDetector.Load(candidate, TorchPlacement.Cpu);
        Assert.Equal(config.BaseEncoder, after.Config.BaseEncoder);
        Assert.NotEqual(before.Detect("apple river").Probabilities["human"], after.Detect("apple river").Probabilities["human"]);
        Assert.Equal(hash, BaseEncoderReference.HashOf(bert));
    }

    [SharedDataFact("all-MiniLM-L6-v2")]
    public void On_minilm_an_adapter_checkpoint_is_a_small_fraction_of_the_full_one()
    {
        string minilm = SharedData.Require("all-MiniLM-L6-v2");
        var encoder = BertWeights.LoadEncoder(minilm, TorchPlacement.Cpu, pooling: Pooling.Mean, adapterSize: 64);
        using var network = new GanBertNetwork(encoder, 5);
        var config = new DetectorConfig
        {
            Backbone = "bert", Encoder = encoder.Config, Classes = ["human", "chatGPT", "davinci", "cohere", "dolly"], MaxLength = 128,
        };
        string vocab = Path.Combine(minilm, "vocab.txt");
        DetectorCheckpoint.Save(Path.Combine(_dir, "full"), config, network, vocab);
        DetectorCheckpoint.Save(Path.Combine(_dir, "adapters"), config with { BaseEncoder = BaseEncoderReference.Of(minilm) }, network, vocab);
        long full = new FileInfo(Path.Combine(_dir, "full", DetectorCheckpoint.WeightsFile)).Length;
        long adapters = new FileInfo(Path.Combine(_dir, "adapters", DetectorCheckpoint.WeightsFile)).Length;
        Assert.True(adapters < full * 0.06, $"adapter checkpoint {adapters / 1e6:F1} MB of the full {full / 1e6:F1} MB");
    }

    [Fact]
    public void Adapters_need_a_pretrained_encoder()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var e = Assert.Throws<UserFacingException>(() => DetectorTrainer.Validate(new DetectorTrainingOptions
        {
            Backbone = "small", VocabPath = vocab, OutputDirectory = Path.Combine(_dir, "out"), AdapterSize = 8,
        }));
        Assert.Contains("--adapters needs a pretrained encoder", e.Message);
    }
}
