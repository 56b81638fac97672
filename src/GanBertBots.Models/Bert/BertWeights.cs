using System.Text.RegularExpressions;
using GanBertBots.Models.IO;
using GanBertBots.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>
/// Reads and writes BERT-family weights in Hugging Face naming. BERT names are accepted with or
/// without the <c>bert.</c> prefix and with the legacy <c>LayerNorm.gamma/beta</c> as well as
/// <c>LayerNorm.weight/bias</c>; DistilBERT names with or without <c>distilbert.</c>.
/// Tensors the encoder does not use (heads such as <c>cls.*</c>, <c>vocab_projector</c>) are ignored.
/// </summary>
public static partial class BertWeights
{
    [GeneratedRegex(@"^layers\.(\d+)\.(.+)$")]
    private static partial Regex LayerName();

    /// <summary>The Hugging Face name (without model prefix) of one of our parameter names.</summary>
    public static string HuggingFaceName(string ours, EncoderKind kind)
    {
        bool distil = kind == EncoderKind.DistilBert;
        string Norm(string hf) => hf + (ours.EndsWith(".weight", StringComparison.Ordinal) ? ".weight" : ".bias");
        string Tail() => ours[(ours.LastIndexOf('.') + 1)..];

        if (ours.StartsWith("embeddings.", StringComparison.Ordinal))
            return ours.StartsWith("embeddings.norm.", StringComparison.Ordinal) ? Norm("embeddings.LayerNorm") : ours;
        if (ours.StartsWith("pooler.", StringComparison.Ordinal)) return ours; // pooler.dense.{weight,bias}
        var m = LayerName().Match(ours);
        if (!m.Success) throw new ArgumentException($"'{ours}' is not a parameter name of the encoder");
        string i = m.Groups[1].Value, rest = m.Groups[2].Value;
        string part = rest[..rest.LastIndexOf('.')];
        string layer = distil ? $"transformer.layer.{i}." : $"encoder.layer.{i}.";
        // Adapters are ours (no Hugging Face model has them): named beside the sublayer they follow.
        if (rest.StartsWith("attention_adapter.", StringComparison.Ordinal))
            return layer + (distil ? "sa_adapter." : "attention.output.adapter.") + rest["attention_adapter.".Length..];
        if (rest.StartsWith("output_adapter.", StringComparison.Ordinal))
            return layer + (distil ? "ffn.adapter." : "output.adapter.") + rest["output_adapter.".Length..];
        string mapped = (part, distil) switch
        {
            ("attention.query", false) => "attention.self.query",
            ("attention.key", false) => "attention.self.key",
            ("attention.value", false) => "attention.self.value",
            ("attention.output", false) => "attention.output.dense",
            ("attention_norm", false) => "attention.output.LayerNorm",
            ("intermediate", false) => "intermediate.dense",
            ("output", false) => "output.dense",
            ("output_norm", false) => "output.LayerNorm",
            ("attention.query", true) => "attention.q_lin",
            ("attention.key", true) => "attention.k_lin",
            ("attention.value", true) => "attention.v_lin",
            ("attention.output", true) => "attention.out_lin",
            ("attention_norm", true) => "sa_layer_norm",
            ("intermediate", true) => "ffn.lin1",
            ("output", true) => "ffn.lin2",
            ("output_norm", true) => "output_layer_norm",
            _ => throw new ArgumentException($"'{ours}' is not a parameter name of the encoder"),
        };
        return layer + mapped + "." + Tail();
    }

    /// <summary>Whether one of our encoder parameter names belongs to an adapter.</summary>
    public static bool IsAdapter(string ours) => ours.Contains("_adapter.", StringComparison.Ordinal);

    /// <summary>Whether one of our encoder parameter names belongs to a LayerNorm (trained beside the adapters).</summary>
    public static bool IsLayerNorm(string ours) => ours.Contains("norm.", StringComparison.Ordinal);

    /// <summary>The model prefix Hugging Face puts before the encoder's names in task checkpoints.</summary>
    public static string Prefix(EncoderKind kind) => kind == EncoderKind.DistilBert ? "distilbert." : "bert.";

    /// <summary>Names under which one parameter may be stored, most usual first.</summary>
    static IEnumerable<string> Candidates(string hf, EncoderKind kind, string extraPrefix)
    {
        var names = new List<string> { hf };
        if (hf.EndsWith("LayerNorm.weight", StringComparison.Ordinal)) names.Add(hf[..^"weight".Length] + "gamma");
        if (hf.EndsWith("LayerNorm.bias", StringComparison.Ordinal)) names.Add(hf[..^"bias".Length] + "beta");
        foreach (var n in names) yield return extraPrefix + Prefix(kind) + n;
        foreach (var n in names) yield return extraPrefix + n;
    }

    /// <summary>Builds an encoder from a Hugging Face checkpoint directory (config.json + model.safetensors).</summary>
    /// <param name="pooling">How the encoder pools; null = the checkpoint's own (BERT's pooler, DistilBERT's [CLS]).</param>
    /// <param name="adapterSize">Adds Houlsby adapters of this bottleneck size (starting as the identity); 0 = none.</param>
    public static BertEncoder LoadEncoder(string directory, TorchPlacement placement, EncoderKind? expected = null, Pooling? pooling = null, int adapterSize = 0)
    {
        var config = BertConfig.Load(directory, expected) with { AdapterSize = adapterSize };
        if (pooling is { } p) config = config with { Pooling = p };
        var checkpoint = SafeTensorsCheckpoint.Open(directory);
        var encoder = new BertEncoder(config);
        try
        {
            LoadInto(encoder, checkpoint, include: name => !IsAdapter(name));
            encoder.to(placement.Device, placement.DType);
            encoder.eval();
            return encoder;
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies every encoder parameter from the checkpoint, checking shapes. A missing tensor or a
    /// wrong shape is a <see cref="CheckpointException"/> naming the tensor.
    /// </summary>
    /// <param name="extraPrefix">A prefix before the Hugging Face names, e.g. "encoder." inside a larger checkpoint.</param>
    /// <param name="include">Which of our parameter names to load (null = all); the others keep their values.</param>
    public static void LoadInto(BertEncoder encoder, SafeTensorsCheckpoint checkpoint, string extraPrefix = "", Func<string, bool>? include = null)
    {
        var kind = encoder.Config.Kind == EncoderKind.Small ? EncoderKind.Bert : encoder.Config.Kind;
        using var noGrad = no_grad();
        foreach (var (ours, param) in encoder.named_parameters())
        {
            if (include is not null && !include(ours)) continue;
            string hf = HuggingFaceName(ours, kind);
            var tried = Candidates(hf, kind, extraPrefix).ToList();
            string? found = tried.FirstOrDefault(checkpoint.Contains);
            if (found is null)
                throw new CheckpointException($"{checkpoint.Source}: tensor '{extraPrefix}{Prefix(kind)}{hf}' is missing " +
                                              $"(looked for {string.Join(", ", tried.Select(t => $"'{t}'"))})");
            CopyChecked(checkpoint, found, param);
        }
    }

    /// <summary>Copies one stored tensor into a parameter (converting dtype and device) after checking its shape; call under no_grad.</summary>
    public static void CopyChecked(SafeTensorsCheckpoint checkpoint, string name, Tensor param)
    {
        if (!checkpoint.Tensors.TryGetValue(name, out var info))
            throw new CheckpointException($"{checkpoint.Source}: tensor '{name}' is missing");
        if (!info.Shape.SequenceEqual(param.shape))
            throw new CheckpointException($"{checkpoint.Source}: tensor '{name}' has shape [{string.Join(", ", info.Shape)}], " +
                                          $"but the config needs [{string.Join(", ", param.shape)}]");
        using var loaded = checkpoint.Load(name);
        using var converted = loaded.to(param.dtype, param.device);
        param.copy_(converted);
    }

    /// <summary>The encoder's weights under Hugging Face names (with the model prefix), ready for <see cref="SafeTensors.Write"/>.</summary>
    /// <param name="include">Which of our parameter names to write (null = all).</param>
    public static IEnumerable<KeyValuePair<string, Tensor>> ToHuggingFace(BertEncoder encoder, string extraPrefix = "", Func<string, bool>? include = null)
    {
        var kind = encoder.Config.Kind == EncoderKind.Small ? EncoderKind.Bert : encoder.Config.Kind;
        foreach (var (ours, param) in encoder.named_parameters())
            if (include is null || include(ours))
                yield return new(extraPrefix + Prefix(kind) + HuggingFaceName(ours, kind), param);
    }
}
