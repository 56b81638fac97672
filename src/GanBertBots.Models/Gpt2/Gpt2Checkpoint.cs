using GanBertBots.Models.IO;
using GanBertBots.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// Reads and writes GPT-2 checkpoints in the Hugging Face layout: <c>config.json</c> plus
/// <c>model.safetensors</c> (or a sharded <c>model.safetensors.index.json</c>). Tensor names are
/// accepted with or without the <c>transformer.</c> prefix; the causal-mask buffers
/// (<c>attn.bias</c>, <c>attn.masked_bias</c>) are skipped; F32, F16 and BF16 are converted to the
/// placement's dtype; <c>lm_head.weight</c> is tied to <c>wte</c> when absent.
/// </summary>
public static class Gpt2Checkpoint
{
    const string Prefix = "transformer.";

    /// <summary>Whether <see cref="Load"/> finds its files in <paramref name="directory"/>: config.json and the weights (single or sharded).</summary>
    public static Loadability Check(string directory) =>
        Loadability.RequireFiles(directory, "config.json").And(
            File.Exists(Path.Combine(directory, "model.safetensors")) || File.Exists(Path.Combine(directory, "model.safetensors.index.json"))
                ? Loadability.Loadable : new(["model.safetensors"]));

    public static Gpt2LMHeadModel Load(string directory, TorchPlacement? placement = null)
    {
        placement ??= TorchPlacement.Cpu;
        if (!Directory.Exists(directory))
            throw new CheckpointException($"{directory}: model directory not found (download one with `ganbertbots models pull gpt2`, or point to a folder holding config.json and model.safetensors)");
        var config = Gpt2Config.Load(directory);
        var weights = SafeTensorsCheckpoint.Open(directory);
        bool hasHead = weights.Contains("lm_head.weight");
        // A checkpoint that unties the head must ship it; one that does not is tied whatever its config says.
        config = config with { TieWordEmbeddings = config.TieWordEmbeddings || !hasHead };

        var model = new Gpt2LMHeadModel(config);
        try
        {
            LoadWeights(model, weights, directory);
            model.to(placement.DType).to(placement.Device);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static void LoadWeights(Gpt2LMHeadModel model, SafeTensorsCheckpoint weights, string directory)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        using var _ = no_grad();
        foreach (var (name, param) in model.named_parameters())
        {
            string? stored = name == "lm_head" ? "lm_head.weight"
                : weights.Contains(Prefix + name) ? Prefix + name
                : weights.Contains(name) ? name : null;
            if (stored is null)
                throw new CheckpointException($"{directory}: tensor '{Prefix}{name}' is missing from the weights " +
                                              $"(expected shape [{string.Join(", ", param.shape)}]); is this a GPT-2 checkpoint matching config.json?");
            var info = weights.Tensors[stored];
            bool transposed = Conv1D.IsWeightName(name);   // [in, out] on disk, [out, in] in memory
            var storedShape = transposed ? param.shape.Reverse().ToArray() : param.shape;
            if (!info.Shape.SequenceEqual(storedShape))
                throw new CheckpointException($"{directory}: tensor '{stored}' has shape [{string.Join(", ", info.Shape)}] " +
                                              $"but config.json implies [{string.Join(", ", storedShape)}]");
            if (info.ScalarType is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64))
                throw new CheckpointException($"{directory}: tensor '{stored}' has dtype {info.DType}; GPT-2 weights must be F32, F16 or BF16");
            using var t = weights.Load(stored);
            param.copy_(transposed ? t.t().to(param.dtype) : t.to(param.dtype));
            used.Add(stored);
        }

        var unexpected = weights.Tensors.Keys
            .Where(k => !used.Contains(k) && !IsSkippable(k, model.Config))
            .ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException($"{directory}: unexpected tensors for a GPT-2 with this config.json: " +
                                          string.Join(", ", unexpected.Take(5)) + (unexpected.Count > 5 ? $" and {unexpected.Count - 5} more" : ""));
    }

    static bool IsSkippable(string name, Gpt2Config config)
    {
        if (name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)) return true;
        // A tied head stored anyway (some exporters do): it is wte, so nothing to load.
        return name == "lm_head.weight" && config.TieWordEmbeddings;
    }

    /// <summary>A parameter as Hugging Face's files hold it: Conv1D weights transposed back to [in, out], the rest as they are.</summary>
    public static Tensor StoredLayout(string name, Tensor parameter) =>
        Conv1D.IsWeightName(name) ? parameter.detach().t().contiguous() : parameter.detach();

    /// <summary>Writes config.json and model.safetensors (Hugging Face names, tied head omitted), atomically per file.</summary>
    public static void Save(Gpt2LMHeadModel model, string directory, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(directory);
        using var scope = NewDisposeScope();
        var tensors = model.named_parameters()
            .Select(p => new KeyValuePair<string, Tensor>(p.name == "lm_head" ? "lm_head.weight" : Prefix + p.name, StoredLayout(p.name, p.parameter)))
            .ToList();
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        SafeTensors.Write(Path.Combine(directory, "model.safetensors"), tensors, meta);
        string configTmp = Path.Combine(directory, "config.json.partial");
        model.Config.Save(configTmp);
        File.Move(configTmp, Path.Combine(directory, "config.json"), overwrite: true);
    }
}
