using System.Text.Json;
using System.Text.Json.Nodes;

namespace GanBertBots.Models.Bert;

/// <summary>Which family of encoder a checkpoint holds: the tensor names and the pooling differ.</summary>
public enum EncoderKind { Bert, DistilBert, Small }

/// <summary>How one vector per text is taken from the encoder's hidden states.</summary>
public enum Pooling
{
    /// <summary>BERT's pooler: tanh(Linear(h[CLS])).</summary>
    Pooler,
    /// <summary>The [CLS] hidden state itself (DistilBERT has no pooler).</summary>
    Cls,
    /// <summary>The mean of the hidden states over the real (unpadded) tokens; used by the small from-scratch backbone.</summary>
    Mean,
}

/// <summary>
/// The shape of a BERT-family encoder, read from a Hugging Face <c>config.json</c>
/// (BERT names: hidden_size, num_hidden_layers...; DistilBERT names: dim, n_layers...).
/// </summary>
public sealed record BertConfig
{
    public EncoderKind Kind { get; init; } = EncoderKind.Bert;
    public int VocabSize { get; init; } = 30522;
    public int HiddenSize { get; init; } = 768;
    public int Layers { get; init; } = 12;
    public int Heads { get; init; } = 12;
    public int IntermediateSize { get; init; } = 3072;
    public int MaxPositions { get; init; } = 512;
    /// <summary>0 for DistilBERT (no token type embeddings).</summary>
    public int TypeVocabSize { get; init; } = 2;
    public double LayerNormEps { get; init; } = 1e-12;
    public double Dropout { get; init; } = 0.1;
    public double AttentionDropout { get; init; } = 0.1;
    public Pooling Pooling { get; init; } = Pooling.Pooler;
    /// <summary>Bottleneck size of the Houlsby adapters in every layer; 0 = no adapters.</summary>
    public int AdapterSize { get; init; }

    public int HeadSize => HiddenSize / Heads;

    /// <summary>BERT-base (uncased) shape: what the benchmark builds with random weights.</summary>
    public static BertConfig BertBase { get; } = new();

    /// <summary>The small from-scratch backbone: a 2-layer, 128-wide encoder with mean pooling (about 0.4M weights besides the 3.9M embedding rows).</summary>
    public static BertConfig Small(int vocabSize, int maxPositions) => new()
    {
        Kind = EncoderKind.Small, VocabSize = vocabSize, HiddenSize = 128, Layers = 2, Heads = 4,
        IntermediateSize = 256, MaxPositions = maxPositions, TypeVocabSize = 2, Pooling = Pooling.Mean,
    };

    public void Validate(string source)
    {
        void Check(bool ok, string what) { if (!ok) throw new CheckpointException($"{source}: {what}"); }
        Check(VocabSize > 0, $"vocab_size {VocabSize} must be positive");
        Check(HiddenSize > 0, $"hidden size {HiddenSize} must be positive");
        Check(Layers > 0, $"layer count {Layers} must be positive");
        Check(Heads > 0 && HiddenSize % Heads == 0, $"hidden size {HiddenSize} is not divisible by the head count {Heads}");
        Check(IntermediateSize > 0, $"intermediate size {IntermediateSize} must be positive");
        Check(MaxPositions > 2, $"max_position_embeddings {MaxPositions} is too small");
        Check(TypeVocabSize >= 0, $"type_vocab_size {TypeVocabSize} must not be negative");
        Check(LayerNormEps > 0, $"layer_norm_eps {LayerNormEps} must be positive");
        Check(AdapterSize >= 0, $"adapter_size {AdapterSize} must not be negative");
    }

    /// <summary>Reads a Hugging Face <c>config.json</c> (file or the directory holding it).</summary>
    public static BertConfig Load(string path, EncoderKind? expected = null)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found (a BERT checkpoint directory needs config.json)");
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new CheckpointException($"{path}: not valid JSON ({e.Message})", e); }
        return FromJson(o, path, expected);
    }

    public static BertConfig FromJson(JsonObject o, string source, EncoderKind? expected = null)
    {
        string modelType = o["model_type"]?.GetValue<string>() ?? (o.ContainsKey("dim") ? "distilbert" : "bert");
        var kind = modelType switch
        {
            "bert" => EncoderKind.Bert,
            "distilbert" => EncoderKind.DistilBert,
            "ganbertbots-small" => EncoderKind.Small,
            _ => throw new CheckpointException($"{source}: model_type '{modelType}' is not a BERT-family encoder (bert, distilbert)"),
        };
        if (expected is { } e && e != kind && !(e == EncoderKind.Bert && kind == EncoderKind.Small))
            throw new CheckpointException($"{source}: model_type is '{modelType}', but a {e} encoder was asked for");

        int Int(string name, int? fallback = null)
        {
            var n = o[name];
            if (n is null)
                return fallback ?? throw new CheckpointException($"{source}: field '{name}' is missing");
            try { return n.GetValue<int>(); }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            { throw new CheckpointException($"{source}: field '{name}' is not an integer ({n.ToJsonString()})"); }
        }
        double Dbl(string name, double fallback)
        {
            var n = o[name];
            if (n is null) return fallback;
            try { return n.GetValue<double>(); }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            { throw new CheckpointException($"{source}: field '{name}' is not a number ({n.ToJsonString()})"); }
        }
        void RequireGelu(string field)
        {
            string act = o[field]?.GetValue<string>() ?? "gelu";
            if (act != "gelu")
                throw new CheckpointException($"{source}: field '{field}' is '{act}'; only the exact (erf) 'gelu' is supported");
        }

        BertConfig c;
        if (kind == EncoderKind.DistilBert)
        {
            RequireGelu("activation");
            c = new BertConfig
            {
                Kind = kind, VocabSize = Int("vocab_size"), HiddenSize = Int("dim"), Layers = Int("n_layers"),
                Heads = Int("n_heads"), IntermediateSize = Int("hidden_dim"), MaxPositions = Int("max_position_embeddings", 512),
                TypeVocabSize = 0, LayerNormEps = 1e-12, Dropout = Dbl("dropout", 0.1),
                AttentionDropout = Dbl("attention_dropout", 0.1), Pooling = ReadPooling(o, source, "cls"),
            };
        }
        else
        {
            RequireGelu("hidden_act");
            c = new BertConfig
            {
                Kind = kind, VocabSize = Int("vocab_size"), HiddenSize = Int("hidden_size"), Layers = Int("num_hidden_layers"),
                Heads = Int("num_attention_heads"), IntermediateSize = Int("intermediate_size"),
                MaxPositions = Int("max_position_embeddings", 512), TypeVocabSize = Int("type_vocab_size", 2),
                LayerNormEps = Dbl("layer_norm_eps", 1e-12), Dropout = Dbl("hidden_dropout_prob", 0.1),
                AttentionDropout = Dbl("attention_probs_dropout_prob", 0.1),
                Pooling = ReadPooling(o, source, kind == EncoderKind.Small ? "mean" : "pooler"),
            };
        }
        c = c with { AdapterSize = Int("adapter_size", 0) };
        c.Validate(source);
        return c;
    }

    /// <summary>Our "pooling" field; a checkpoint written before it existed pools as it did then (<paramref name="fallback"/>).</summary>
    static Pooling ReadPooling(JsonObject o, string source, string fallback)
    {
        string pooling = o["pooling"]?.GetValue<string>() ?? fallback;
        var p = Enum.TryParse<Pooling>(pooling, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed
            : throw new CheckpointException($"{source}: pooling '{pooling}' is not one of pooler, cls, mean");
        if (p == Pooling.Pooler && o.ContainsKey("dim"))
            throw new CheckpointException($"{source}: pooling 'pooler' needs BERT's pooler, which DistilBERT has not (use cls or mean)");
        return p;
    }

    /// <summary>The config in Hugging Face form, so a saved encoder can be read back by the same loader (and by transformers).</summary>
    public JsonObject ToJson()
    {
        var o = HuggingFaceJson();
        if (AdapterSize > 0) o["adapter_size"] = AdapterSize;
        return o;
    }

    JsonObject HuggingFaceJson()
    {
        if (Kind == EncoderKind.DistilBert)
            return new JsonObject
            {
                ["model_type"] = "distilbert", ["vocab_size"] = VocabSize, ["dim"] = HiddenSize, ["n_layers"] = Layers,
                ["n_heads"] = Heads, ["hidden_dim"] = IntermediateSize, ["max_position_embeddings"] = MaxPositions,
                ["activation"] = "gelu", ["dropout"] = Dropout, ["attention_dropout"] = AttentionDropout,
                ["pooling"] = Pooling.ToString().ToLowerInvariant(),
            };
        return new JsonObject
        {
            ["model_type"] = Kind == EncoderKind.Small ? "ganbertbots-small" : "bert", ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize, ["num_hidden_layers"] = Layers, ["num_attention_heads"] = Heads,
            ["intermediate_size"] = IntermediateSize, ["max_position_embeddings"] = MaxPositions,
            ["type_vocab_size"] = TypeVocabSize, ["layer_norm_eps"] = LayerNormEps, ["hidden_act"] = "gelu",
            ["hidden_dropout_prob"] = Dropout, ["attention_probs_dropout_prob"] = AttentionDropout,
            ["pooling"] = Pooling.ToString().ToLowerInvariant(),
        };
    }
}
