using GanBertBots.Models;
using GanBertBots.Models.Bert;
using GanBertBots.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

public sealed class BertEncoderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bert-test").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Two texts of different lengths in one padded batch: the padding must not change the answer.
    static readonly int[][] Texts = [[2, 7, 11, 5, 3], [2, 19, 3]];

    static void AssertEncoderMatchesReference(BertEncoder encoder, TinyBert reference)
    {
        using var scope = NewDisposeScope();
        int t = Texts.Max(x => x.Length);
        var ids = tensor(Texts.SelectMany(x => x.Concat(Enumerable.Repeat(0, t - x.Length))).Select(i => (long)i).ToArray(), new long[] { Texts.Length, t });
        var mask = tensor(Texts.SelectMany(x => Enumerable.Range(0, t).Select(i => i < x.Length ? 1L : 0L)).ToArray(), new long[] { Texts.Length, t });
        using var noGrad = no_grad();
        var hidden = encoder.Hidden(encoder.Words(ids), mask);
        var pooled = encoder.Pool(hidden, mask);
        for (int b = 0; b < Texts.Length; b++)
        {
            var expectedHidden = reference.HiddenStates(Texts[b]);
            for (int p = 0; p < Texts[b].Length; p++)
                for (int h = 0; h < TinyBert.Hidden; h++)
                    Assert.True(Math.Abs(expectedHidden[p][h] - hidden[b, p, h].item<float>()) < 1e-5,
                        $"hidden[{b},{p},{h}]: expected {expectedHidden[p][h]}, got {hidden[b, p, h].item<float>()}");
            var expectedPooled = reference.Pooled(Texts[b]);
            for (int h = 0; h < TinyBert.Hidden; h++)
                Assert.True(Math.Abs(expectedPooled[h] - pooled[b, h].item<float>()) < 1e-5,
                    $"pooled[{b},{h}]: expected {expectedPooled[h]}, got {pooled[b, h].item<float>()}");
        }
    }

    [Fact]
    public void Erf_reference_matches_known_values()
    {
        // Abramowitz & Stegun table 7.1: erf(0.5) = 0.5204998778, erf(1) = 0.8427007929, erf(2) = 0.9953222650.
        Assert.Equal(0.5204998778, TinyBert.Erf(0.5), 9);
        Assert.Equal(0.8427007929, TinyBert.Erf(1.0), 9);
        Assert.Equal(-0.9953222650, TinyBert.Erf(-2.0), 9);
    }

    [Fact]
    public void Bert_with_prefix_matches_plain_array_reference()
    {
        var tiny = new TinyBert(distil: false, seed: 1);
        string dir = tiny.Save(Path.Combine(_dir, "bert"), n => "bert." + n);
        using var encoder = BertWeights.LoadEncoder(dir, TorchPlacement.Cpu);
        Assert.Equal(EncoderKind.Bert, encoder.Config.Kind);
        AssertEncoderMatchesReference(encoder, tiny);
    }

    [Fact]
    public void Bert_without_prefix_and_with_gamma_beta_loads_the_same_weights()
    {
        var tiny = new TinyBert(distil: false, seed: 2);
        string dir = tiny.Save(Path.Combine(_dir, "legacy"),
            n => n.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta"));
        using var encoder = BertWeights.LoadEncoder(dir, TorchPlacement.Cpu);
        AssertEncoderMatchesReference(encoder, tiny);
    }

    [Fact]
    public void DistilBert_with_and_without_prefix_matches_plain_array_reference()
    {
        var tiny = new TinyBert(distil: true, seed: 3);
        foreach (var prefix in new[] { "distilbert.", "" })
        {
            string dir = tiny.Save(Path.Combine(_dir, "distil" + prefix), n => prefix + n);
            using var encoder = BertWeights.LoadEncoder(dir, TorchPlacement.Cpu);
            Assert.Equal(EncoderKind.DistilBert, encoder.Config.Kind);
            Assert.Equal(Pooling.Cls, encoder.Config.Pooling);
            AssertEncoderMatchesReference(encoder, tiny);
        }
    }

    [Fact]
    public void Missing_tensor_is_named_in_the_error()
    {
        var tiny = new TinyBert(distil: false, seed: 4);
        string dir = tiny.Save(Path.Combine(_dir, "missing"), n => n == "encoder.layer.1.intermediate.dense.bias" ? null : "bert." + n);
        var e = Assert.Throws<CheckpointException>(() => BertWeights.LoadEncoder(dir, TorchPlacement.Cpu));
        Assert.Contains("bert.encoder.layer.1.intermediate.dense.bias", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Wrong_shape_is_named_in_the_error()
    {
        var tiny = new TinyBert(distil: false, seed: 5);
        string dir = tiny.Save(Path.Combine(_dir, "shape"), n => "bert." + n,
            (n, s) => n == "encoder.layer.0.attention.self.key.weight" ? [TinyBert.Hidden, TinyBert.Hidden + 1] : s);
        var e = Assert.Throws<CheckpointException>(() => BertWeights.LoadEncoder(dir, TorchPlacement.Cpu));
        Assert.Contains("bert.encoder.layer.0.attention.self.key.weight", e.Message);
        Assert.Contains("[8, 9]", e.Message);
        Assert.Contains("[8, 8]", e.Message);
    }

    [Fact]
    public void Truncated_weights_file_is_a_clear_error()
    {
        var tiny = new TinyBert(distil: false, seed: 6);
        string dir = tiny.Save(Path.Combine(_dir, "truncated"), n => "bert." + n);
        string file = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length - 40)]);
        var e = Assert.Throws<CheckpointException>(() => BertWeights.LoadEncoder(dir, TorchPlacement.Cpu));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Config_with_unsupported_activation_or_missing_field_is_a_clear_error()
    {
        var tiny = new TinyBert(distil: false, seed: 7);
        string dir = tiny.Save(Path.Combine(_dir, "config"));
        var config = tiny.Config();
        config["hidden_act"] = "relu";
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        Assert.Contains("hidden_act", Assert.Throws<CheckpointException>(() => BertWeights.LoadEncoder(dir, TorchPlacement.Cpu)).Message);
        config = tiny.Config();
        config.Remove("num_attention_heads");
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        Assert.Contains("num_attention_heads", Assert.Throws<CheckpointException>(() => BertWeights.LoadEncoder(dir, TorchPlacement.Cpu)).Message);
    }
}
