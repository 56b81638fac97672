using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Detector;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

public sealed class GanBertTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("ganbert-test").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Tensor T(double[,] v)
    {
        var flat = new float[v.Length];
        int cols = v.GetLength(1);
        for (int i = 0; i < v.GetLength(0); i++) for (int j = 0; j < cols; j++) flat[i * cols + j] = (float)v[i, j];
        return tensor(flat, new long[] { v.GetLength(0), cols });
    }

    [Fact]
    public void Discriminator_loss_matches_hand_computation()
    {
        using var scope = NewDisposeScope();
        // k = 2 real classes + the fake logit.
        var real = T(new double[,] { { 1, 2, 0 }, { 0, 0, 1 } });
        var fake = T(new double[,] { { 0, 0, 2 } });
        var labels = tensor(new long[] { 1, 0 });
        var mask = tensor(new[] { true, false }); // only the first row is labelled
        using var loss = GanBertLosses.Discriminator(real, fake, labels, mask);

        double e = Math.E, eps = 1e-8;
        // L_sup: row 0, class 1 among the real logits [1, 2]: -log(e^2 / (e + e^2)) = log(1 + 1/e) = 0.313261687518...
        Assert.Equal(0.3132616875182228, loss.Supervised.item<float>(), 5);
        double pFakeReal0 = 1 / (e + e * e + 1), pFakeReal1 = e / (2 + e);
        double lReal = -(Math.Log(1 - pFakeReal0 + eps) + Math.Log(1 - pFakeReal1 + eps)) / 2;
        double lFake = -Math.Log(e * e / (2 + e * e) + eps);
        Assert.Equal(lReal, loss.Real.item<float>(), 5);
        Assert.Equal(lFake, loss.Fake.item<float>(), 5);
        Assert.Equal(0.3132616875182228 + lReal + lFake, loss.Total.item<float>(), 5);
    }

    [Fact]
    public void Supervised_loss_is_zero_with_zero_gradient_when_no_row_is_labelled()
    {
        using var scope = NewDisposeScope();
        var logits = T(new double[,] { { 1, 2, 0 }, { 0, 0, 1 } }).requires_grad_(true);
        var loss = GanBertLosses.Supervised(logits, tensor(new long[] { 5, -3 }), tensor(new[] { false, false }));
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
        Assert.All(logits.grad!.data<float>().ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Generator_loss_matches_hand_computation()
    {
        using var scope = NewDisposeScope();
        var fakeLogits = T(new double[,] { { 0, 0, 2 }, { 1, 0, 0 } });
        var realFeatures = T(new double[,] { { 1, 2 }, { 3, 4 } });   // mean [2, 3]
        var fakeFeatures = T(new double[,] { { 0, 1 }, { 0, -1 } });  // mean [0, 0]
        var loss = GanBertLosses.Generator(fakeLogits, realFeatures, fakeFeatures);
        double e = Math.E, eps = 1e-8;
        double p0 = e * e / (2 + e * e), p1 = 1 / (e + 2);
        double adversarial = -(Math.Log(1 - p0 + eps) + Math.Log(1 - p1 + eps)) / 2;
        double matching = ((2 - 0) * (2 - 0) + (3 - 0) * (3 - 0)) / 2.0; // 6.5
        Assert.Equal(adversarial + matching, loss.item<float>(), 5);
    }

    [Fact]
    public void Labelled_rows_are_repeated_log2_of_inverse_rate_times()
    {
        Assert.Equal(1, DetectorTrainer.LabelledRepeats(1.0));
        Assert.Equal(1, DetectorTrainer.LabelledRepeats(0.5));
        Assert.Equal(3, DetectorTrainer.LabelledRepeats(0.1));   // floor(log2(10))
        Assert.Equal(4, DetectorTrainer.LabelledRepeats(0.05));  // floor(log2(20))
        Assert.Equal(6, DetectorTrainer.LabelledRepeats(0.01));  // floor(log2(100))
    }

    static Dictionary<string, float[]> Snapshot(nn.Module m) =>
        m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().data<float>().ToArray());

    static void Restore(nn.Module m, Dictionary<string, float[]> snapshot)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in m.named_parameters()) p.copy_(tensor(snapshot[name], p.shape));
    }

    static bool Same(Dictionary<string, float[]> a, Dictionary<string, float[]> b) => a.Keys.All(k => a[k].SequenceEqual(b[k]));

    [Fact]
    public void Generator_loss_never_moves_encoder_or_discriminator_and_discriminator_loss_never_moves_generator()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        // No dropout and a private noise source: the runs below must be exactly repeatable even while other tests use torch's global generator.
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 11, dropout: 0);
        using var _ = network;
        var texts = new[] { "apple river stone", "vector neural", "the a and of is very then robot", "quiet" };
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(texts.Select(tokenizer.Encode).ToList(), tokenizer.PadId, CPU);
        var labels = tensor(new long[] { 0, 1, 2, 0 });
        var labelMask = tensor(new[] { true, true, false, false });

        var start = (E: Snapshot(network.Encoder), D: Snapshot(network.Discriminator), G: Snapshot(network.Generator));
        (Dictionary<string, float[]> E, Dictionary<string, float[]> D, Dictionary<string, float[]> G) Run(StepParts parts)
        {
            Restore(network.Encoder, start.E); Restore(network.Discriminator, start.D); Restore(network.Generator, start.G);
            using var noise = new Generator(5);
            using var opt = new GanBertOptimisation(network, 1e-2, 1e-2, adversarial: true, noise);
            opt.Step(ids, mask, labels, labelMask, parts);
            return (Snapshot(network.Encoder), Snapshot(network.Discriminator), Snapshot(network.Generator));
        }

        var both = Run(StepParts.Both);
        var generatorOnly = Run(StepParts.Generator);
        var discriminatorOnly = Run(StepParts.Discriminator);

        // G's step moves G and nothing else...
        Assert.False(Same(start.G, generatorOnly.G));
        Assert.True(Same(start.E, generatorOnly.E), "the generator's step moved the encoder");
        Assert.True(Same(start.D, generatorOnly.D), "the generator's step moved the discriminator");
        // ...D's step moves the encoder and D, never G...
        Assert.False(Same(start.E, discriminatorOnly.E));
        Assert.False(Same(start.D, discriminatorOnly.D));
        Assert.True(Same(start.G, discriminatorOnly.G), "the discriminator's step moved the generator");
        // ...and a full step is exactly the two apart: no gradient of one loss leaks into the other side's update.
        Assert.True(Same(both.G, generatorOnly.G), "L_D leaked into the generator's update");
        Assert.True(Same(both.E, discriminatorOnly.E), "L_G leaked into the encoder's update");
        Assert.True(Same(both.D, discriminatorOnly.D), "L_G leaked into the discriminator's update");
    }

    [Fact]
    public void Batched_detection_equals_one_text_at_a_time()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 12);
        using var detector = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu, batchSize: 4);
        var texts = SyntheticDetector.Rows(11, seed: 3).Select(r => r.Text).ToList();
        texts.Add("apple"); // shortest possible
        var batched = detector.Detect(texts);
        Assert.Equal(texts.Count, batched.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            var single = detector.Detect(texts[i]);
            Assert.Equal(single.Label, batched[i].Label);
            foreach (var c in config.Classes)
                Assert.True(Math.Abs(single.Probabilities[c] - batched[i].Probabilities[c]) < 1e-5, $"text {i} class {c}: {single.Probabilities[c]} vs {batched[i].Probabilities[c]}");
            Assert.Equal(1.0, batched[i].Probabilities.Values.Sum(), 6);
            Assert.Equal(batched[i].Probabilities["human"], batched[i].Real!.Value, 12);
            Assert.Equal(1 - batched[i].Real!.Value, batched[i].Fake!.Value, 12);
            Assert.Equal("test-1", batched[i].ModelVersion);
        }
    }

    [Fact]
    public void Empty_text_is_refused_with_its_position()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 13);
        using var detector = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu);
        var e = Assert.Throws<DetectionInputException>(() => detector.Detect(new[] { "apple", "  " }));
        Assert.Contains("text 2 of 2", e.Message);
    }

    [Fact]
    public void Long_text_is_answered_and_marked_truncated()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 14);
        using var detector = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu);
        var results = detector.Detect(new[] { "apple river", string.Join(" ", Enumerable.Repeat("apple river stone", 100)) });
        Assert.False(results[0].Truncated);
        Assert.True(results[1].Truncated);
    }

    [Fact]
    public void Saved_detector_loads_back_with_identical_outputs()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 15);
        string saved = Path.Combine(_dir, "saved");
        DetectorCheckpoint.Save(saved, config, network, vocab);
        using var original = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu);
        using var loaded = GanBertDetector.Load(saved, TorchPlacement.Cpu);
        Assert.Equal(config.Classes, loaded.Classes);
        Assert.Equal("test-1", loaded.ModelVersion);
        var texts = SyntheticDetector.Rows(6, seed: 4).Select(r => r.Text).ToList();
        var a = original.Detect(texts);
        var b = loaded.Detect(texts);
        for (int i = 0; i < texts.Count; i++)
            Assert.Equal(a[i].Probabilities.Values, b[i].Probabilities.Values); // bit-identical: same weights, same code

        // A damaged checkpoint is a clear error, naming the tensor.
        var names = GanBertBots.Models.IO.SafeTensors.ReadHeader(Path.Combine(saved, "model.safetensors")).Tensors.Keys.ToList();
        Assert.Contains("discriminator.classifier.weight", names);
        Assert.Contains("bert.encoder.layer.0.attention.self.query.weight", names);
        var config2 = config with { Classes = ["human", "gpt2", "dolly", "cohere"] };
        DetectorCheckpoint.Save(Path.Combine(_dir, "mismatch"), config, network, vocab);
        File.WriteAllText(Path.Combine(_dir, "mismatch", "config.json"), config2.ToJson().ToJsonString());
        var e = Assert.Throws<GanBertBots.Models.CheckpointException>(() => GanBertDetector.Load(Path.Combine(_dir, "mismatch"), TorchPlacement.Cpu));
        Assert.Contains("discriminator.classifier.weight", e.Message);
    }

    [Fact]
    public void Explanation_ranks_tokens_towards_machine()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 16);
        using var detector = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu);
        var r = detector.Explain("apple vector the robot", topTokens: 3);
        Assert.NotNull(r.Explanation);
        Assert.Equal(3, r.Explanation!.Count);
        Assert.All(r.Explanation, a => Assert.Contains(a.Token, new[] { "apple", "vector", "the", "robot" }));
        Assert.True(r.Explanation[0].Score >= r.Explanation[1].Score && r.Explanation[1].Score >= r.Explanation[2].Score);
        Assert.Equal(detector.Detect("apple vector the robot").Probabilities["human"], r.Probabilities["human"], 5);
    }
}
