using System.Text.Json;
using System.Text.Json.Nodes;

namespace GanBertBots.Models.Gpt2;

/// <summary>GPT-2 hyper-parameters, read from a Hugging Face <c>config.json</c>.</summary>
public sealed record Gpt2Config
{
    public int VocabSize { get; init; } = 50257;
    public int MaxPositions { get; init; } = 1024;   // n_positions
    public int Embedding { get; init; } = 768;       // n_embd
    public int Layers { get; init; } = 12;           // n_layer
    public int Heads { get; init; } = 12;            // n_head
    public int? Inner { get; init; }                 // n_inner (null: 4 * n_embd)
    public double LayerNormEpsilon { get; init; } = 1e-5;
    public string Activation { get; init; } = "gelu_new";
    public int BosTokenId { get; init; } = 50256;
    public int EosTokenId { get; init; } = 50256;
    public int? PadTokenId { get; init; }
    public bool TieWordEmbeddings { get; init; } = true;
    public bool ScaleAttnByInverseLayerIdx { get; init; }

    public int InnerSize => Inner ?? 4 * Embedding;

    /// <summary>The MLP's activation as a function (config names: relu; gelu, the exact erf form; gelu_new and gelu_pytorch_tanh, the tanh form).</summary>
    public Gpt2Activation ActivationFunction => Activation switch
    {
        "relu" => Gpt2Activation.Relu,
        "gelu" => Gpt2Activation.GeluErf,
        _ => Gpt2Activation.GeluTanh,
    };
    public int HeadSize => Embedding / Heads;

    /// <summary>GPT-2 small (124M), the size of the public "gpt2" checkpoint.</summary>
    public static Gpt2Config Small { get; } = new();

    /// <summary>Reads config.json; a missing or malformed field is an error that names it.</summary>
    public static Gpt2Config Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        if (!File.Exists(path)) throw new CheckpointException($"{path}: not found (a GPT-2 checkpoint needs config.json beside its weights)");
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new CheckpointException($"{path}: not valid JSON ({e.Message})", e); }

        string? type = o["model_type"]?.GetValue<string>();
        if (type is not null && type != "gpt2")
            throw new CheckpointException($"{path}: model_type is '{type}', expected 'gpt2'");
        var d = new Gpt2Config();
        var cfg = d with
        {
            VocabSize = Int(o, "vocab_size", d.VocabSize, path),
            MaxPositions = Int(o, "n_positions", Int(o, "n_ctx", d.MaxPositions, path), path),
            Embedding = Int(o, "n_embd", d.Embedding, path),
            Layers = Int(o, "n_layer", d.Layers, path),
            Heads = Int(o, "n_head", d.Heads, path),
            Inner = o["n_inner"] is null ? null : Int(o, "n_inner", 0, path),
            LayerNormEpsilon = o["layer_norm_epsilon"] is null ? d.LayerNormEpsilon : Num(o, "layer_norm_epsilon", path),
            Activation = o["activation_function"]?.GetValue<string>() ?? d.Activation,
            BosTokenId = Int(o, "bos_token_id", d.BosTokenId, path),
            EosTokenId = Int(o, "eos_token_id", d.EosTokenId, path),
            PadTokenId = o["pad_token_id"] is null ? null : Int(o, "pad_token_id", 0, path),
            TieWordEmbeddings = o["tie_word_embeddings"]?.GetValue<bool>() ?? true,
            ScaleAttnByInverseLayerIdx = o["scale_attn_by_inverse_layer_idx"]?.GetValue<bool>() ?? false,
        };
        cfg.Validate(path);
        return cfg;
    }

    public void Validate(string source = "config")
    {
        void Positive(int v, string name) { if (v <= 0) throw new CheckpointException($"{source}: {name} must be positive (got {v})"); }
        Positive(VocabSize, "vocab_size"); Positive(MaxPositions, "n_positions"); Positive(Embedding, "n_embd");
        Positive(Layers, "n_layer"); Positive(Heads, "n_head"); Positive(InnerSize, "n_inner");
        if (Embedding % Heads != 0) throw new CheckpointException($"{source}: n_embd ({Embedding}) is not divisible by n_head ({Heads})");
        if (Activation is not ("gelu_new" or "gelu" or "gelu_pytorch_tanh" or "relu"))
            throw new CheckpointException($"{source}: activation_function '{Activation}' is not supported (gelu_new, gelu, gelu_pytorch_tanh, relu)");
    }

    public void Save(string path)
    {
        var o = new JsonObject
        {
            ["model_type"] = "gpt2",
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["vocab_size"] = VocabSize, ["n_positions"] = MaxPositions, ["n_ctx"] = MaxPositions,
            ["n_embd"] = Embedding, ["n_layer"] = Layers, ["n_head"] = Heads, ["n_inner"] = Inner,
            ["activation_function"] = Activation, ["layer_norm_epsilon"] = LayerNormEpsilon,
            ["bos_token_id"] = BosTokenId, ["eos_token_id"] = EosTokenId, ["pad_token_id"] = PadTokenId,
            ["tie_word_embeddings"] = TieWordEmbeddings,
        };
        File.WriteAllText(path, o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    static int Int(JsonObject o, string key, int fallback, string path)
    {
        var n = o[key];
        if (n is null) return fallback;
        try { return n.GetValue<int>(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        { throw new CheckpointException($"{path}: field '{key}' must be an integer (got {n.ToJsonString()})", e); }
    }

    static double Num(JsonObject o, string key, string path)
    {
        var n = o[key]!;
        try { return n.GetValue<double>(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        { throw new CheckpointException($"{path}: field '{key}' must be a number (got {n.ToJsonString()})", e); }
    }
}

/// <summary>The MLP activations GPT-2 checkpoints use.</summary>
public enum Gpt2Activation { GeluTanh, GeluErf, Relu }
