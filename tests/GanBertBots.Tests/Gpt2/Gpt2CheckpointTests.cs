using System.Text.Json.Nodes;
using GanBertBots.Models;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.IO;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

public class Gpt2CheckpointTests : IDisposable
{
    readonly List<string> _dirs = new();
    public void Dispose() { foreach (var d in _dirs) try { Directory.Delete(d, true); } catch (IOException) { } }

    string NewDir() { var d = Directory.CreateTempSubdirectory("gpt2ck").FullName; _dirs.Add(d); return d; }

    /// <summary>Writes a checkpoint the way other tools lay it out: names transformed, extra buffers, dtype.</summary>
    string WriteVariant(Gpt2LMHeadModel model, Func<string, string> rename, ScalarType dtype, bool withMaskBuffers, bool withHead)
    {
        string dir = NewDir();
        model.Config.Save(Path.Combine(dir, "config.json"));
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, p) in model.named_parameters()) tensors[rename(name)] = Gpt2Checkpoint.StoredLayout(name, p).to(dtype);
        if (withMaskBuffers)
            for (int i = 0; i < model.Config.Layers; i++)
            {
                tensors[rename($"h.{i}.attn.bias")] = ones(1, 1, 8, 8).tril();
                tensors[rename($"h.{i}.attn.masked_bias")] = tensor(-1e4f);
            }
        if (withHead) tensors["lm_head.weight"] = model.Weights().TokenEmbedding.detach().to(dtype);
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }

    static float MaxDiff(Gpt2LMHeadModel a, Gpt2LMHeadModel b)
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 5, 9, 2, 33 }).unsqueeze(0);
        return (a.forward(ids) - b.forward(ids)).abs().max().item<float>();
    }

    [Fact]
    public void Save_then_load_round_trips_exactly()
    {
        using var model = TinyGpt2.Create();
        string dir = NewDir();
        Gpt2Checkpoint.Save(model, dir);
        using var loaded = Gpt2Checkpoint.Load(dir);
        Assert.Equal(0f, MaxDiff(model, loaded));
        // Hugging Face names on disk: transformer.* and Conv1D weights as [in, out].
        var (tensors, _, _) = SafeTensors.ReadHeader(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(new long[] { 16, 48 }, tensors["transformer.h.0.attn.c_attn.weight"].Shape);
        Assert.DoesNotContain("lm_head.weight", tensors.Keys);
    }

    [Theory]
    [InlineData(true, false, false)]   // transformer.* names, mask buffers present
    [InlineData(false, true, false)]   // bare names (GPT2Model export)
    [InlineData(true, true, true)]     // tied head stored anyway
    public void Hugging_face_name_variants_load(bool prefixed, bool buffers, bool head)
    {
        using var model = TinyGpt2.Create();
        string dir = WriteVariant(model, n => prefixed ? "transformer." + n : n, ScalarType.Float32, buffers, head);
        using var loaded = Gpt2Checkpoint.Load(dir);
        Assert.Equal(0f, MaxDiff(model, loaded));
    }

    [Theory]
    [InlineData(ScalarType.Float16, 2e-2)]
    [InlineData(ScalarType.BFloat16, 1e-1)]
    public void Half_precision_files_are_converted_to_float32(ScalarType dtype, double tol)
    {
        using var model = TinyGpt2.Create();
        string dir = WriteVariant(model, n => "transformer." + n, dtype, false, false);
        using var loaded = Gpt2Checkpoint.Load(dir);
        Assert.Equal(ScalarType.Float32, loaded.DType);
        // The loaded weights equal the rounded ones exactly.
        Assert.Equal(0f, (loaded.Weights().TokenEmbedding - model.Weights().TokenEmbedding.to(dtype).to(ScalarType.Float32)).abs().max().item<float>());
        Assert.InRange(MaxDiff(model, loaded), 0, tol);
    }

    [Fact]
    public void Untied_head_is_loaded_when_the_config_unties_it()
    {
        var config = TinyGpt2.Config() with { TieWordEmbeddings = false };
        using var model = TinyGpt2.Create(config);
        Assert.False(model.Weights().HeadIsTied);
        string dir = NewDir();
        Gpt2Checkpoint.Save(model, dir);
        using var loaded = Gpt2Checkpoint.Load(dir);
        Assert.False(loaded.Weights().HeadIsTied);
        Assert.Equal(0f, MaxDiff(model, loaded));
    }

    [Fact]
    public void Untied_config_without_head_tensor_falls_back_to_tying()
    {
        using var model = TinyGpt2.Create();
        string dir = NewDir();
        Gpt2Checkpoint.Save(model, dir);
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        cfg["tie_word_embeddings"] = false;
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        using var loaded = Gpt2Checkpoint.Load(dir);
        Assert.True(loaded.Weights().HeadIsTied);
        Assert.Equal(0f, MaxDiff(model, loaded));
    }

    [Fact]
    public void Sharded_checkpoints_load_through_the_index()
    {
        using var model = TinyGpt2.Create();
        string dir = NewDir();
        model.Config.Save(Path.Combine(dir, "config.json"));
        var all = model.named_parameters().Select(p => ("transformer." + p.name, parameter: Gpt2Checkpoint.StoredLayout(p.name, p.parameter))).ToList();
        var map = new JsonObject();
        for (int s = 0; s < 2; s++)
        {
            string shard = $"model-0000{s + 1}-of-00002.safetensors";
            var part = all.Where((_, i) => i % 2 == s).ToList();
            SafeTensors.Write(Path.Combine(dir, shard), part.Select(p => new KeyValuePair<string, Tensor>(p.Item1, p.parameter)));
            foreach (var p in part) map[p.Item1] = shard;
        }
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        using var loaded = Gpt2Checkpoint.Load(dir);
        Assert.Equal(0f, MaxDiff(model, loaded));

        // A missing shard is named.
        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Fact]
    public void Missing_tensor_is_named()
    {
        using var model = TinyGpt2.Create();
        string dir = WriteVariant(model, n => n == "h.1.mlp.c_fc.weight" ? "h.1.mlp.c_fc.weight_renamed" : "transformer." + n, ScalarType.Float32, false, false);
        var e = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir));
        Assert.Contains("transformer.h.1.mlp.c_fc.weight", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Shape_mismatch_names_tensor_and_both_shapes()
    {
        using var model = TinyGpt2.Create();
        string dir = NewDir();
        Gpt2Checkpoint.Save(model, dir);
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        cfg["n_positions"] = 128;
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        var e = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir));
        Assert.Contains("transformer.wpe.weight", e.Message);
        Assert.Contains("[64, 16]", e.Message);
        Assert.Contains("[128, 16]", e.Message);
    }

    [Fact]
    public void Truncated_weights_file_is_a_clear_error()
    {
        using var model = TinyGpt2.Create();
        string dir = NewDir();
        Gpt2Checkpoint.Save(model, dir);
        string file = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir));
        Assert.Contains("truncated", e.Message);
        File.WriteAllBytes(file, bytes[..5]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir)).Message);
        File.WriteAllBytes(file, new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2 });
        Assert.Contains("not a safetensors file", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir)).Message);
    }

    [Fact]
    public void Corrupt_header_and_bad_config_fields_are_named()
    {
        using var model = TinyGpt2.Create();
        string dir = NewDir();
        Gpt2Checkpoint.Save(model, dir);
        string file = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        bytes[9] = (byte)'#';  // break the JSON header
        File.WriteAllBytes(file, bytes);
        Assert.Contains("not valid JSON", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir)).Message);

        Gpt2Checkpoint.Save(model, dir);
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        cfg["n_head"] = "four";
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        Assert.Contains("n_head", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir)).Message);

        cfg["n_head"] = 4; cfg["model_type"] = "bert";
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        Assert.Contains("model_type", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir)).Message);

        File.Delete(Path.Combine(dir, "config.json"));
        Assert.Contains("config.json", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir)).Message);
        Assert.Contains("models pull", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(Path.Combine(dir, "nope"))).Message);
    }

    [Fact]
    public void Unexpected_tensors_are_refused()
    {
        using var model = TinyGpt2.Create();
        string dir = WriteVariant(model, n => "transformer." + n, ScalarType.Float32, false, false);
        var (tensors, _, _) = SafeTensors.ReadHeader(Path.Combine(dir, "model.safetensors"));
        var ck = SafeTensorsCheckpoint.Open(dir);
        var all = tensors.Keys.ToDictionary(k => k, k => ck.Load(k));
        all["bert.pooler.dense.weight"] = zeros(4, 4);
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), all);
        Assert.Contains("bert.pooler.dense.weight", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(dir)).Message);
    }
}
