using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GanBertBots.Models.Gpt2;

// GPT-2 as plain torch modules, in the shape of nanoGPT's model.py. Shapes in comments: B batch, T new tokens,
// S = past + T positions attended to, C embedding, H heads, D = C / H head size, V vocabulary, P positions.
//
// Each module keeps its weights in private readonly fields named as Hugging Face names them, and registers them
// with RegisterComponents(): the field names are the state-dict names (h.0.attn.c_attn.weight, ...), so
// checkpoints load exactly. Code outside reads the weights through Gpt2LMHeadModel.Weights(), never the fields.
// The CPU decoder (Gpt2CpuDecoder) is not reached from here: the generator picks it explicitly.

/// <summary>
/// GPT-2's "Conv1D" projection, y = x W + b. Hugging Face's files store W as [in, out] (the original
/// TensorFlow layout); here it is kept as [out, in], nn.Linear's layout, and <see cref="Gpt2Checkpoint"/>
/// transposes on load and save. Why: batch-1 decoding (<see cref="Gpt2CpuDecoder"/>) computes every
/// output as the dot product of one contiguous weight row with x, which streams from memory faster than
/// summing x-weighted rows of the [in, out] layout (figures in docs/decoding.md).
/// </summary>
public sealed class Conv1D : Module<Tensor, Tensor>
{
    private readonly Parameter weight;  // [out, in]
    private readonly Parameter bias;    // [out]

    public Conv1D(string name, long inFeatures, long outFeatures) : base(name)
    {
        weight = new Parameter(empty(outFeatures, inFeatures));
        bias = new Parameter(zeros(outFeatures));
        init.normal_(weight, 0, 0.02);
        RegisterComponents();
    }

    // x: [..., in] -> [..., out]
    public override Tensor forward(Tensor x) => functional.linear(x, weight, bias);

    /// <summary>The weight [out, in] and bias [out], read-only.</summary>
    public LinearWeights Weights => new(weight, bias);

    /// <summary>Whether a parameter name (with or without the <c>transformer.</c> prefix) is a Conv1D weight.</summary>
    public static bool IsWeightName(string name) =>
        name.EndsWith(".attn.c_attn.weight", StringComparison.Ordinal) || name.EndsWith(".attn.c_proj.weight", StringComparison.Ordinal)
        || name.EndsWith(".mlp.c_fc.weight", StringComparison.Ordinal) || name.EndsWith(".mlp.c_proj.weight", StringComparison.Ordinal);
}

/// <summary>What one attention layer needs besides its input.</summary>
/// <param name="Mask">Additive attention mask [B, 1, T, S] (0 where allowed, a large negative where not).</param>
/// <param name="Cache">KV cache, or null for a full (uncached) forward.</param>
/// <param name="Layer">Index of the layer, to address the cache.</param>
public sealed record AttentionContext(Tensor Mask, KvCache? Cache, int Layer);

/// <summary>Multi-head causal self-attention.</summary>
public sealed class Gpt2Attention : Module<Tensor, AttentionContext, Tensor>
{
    readonly int _heads;
    readonly int _headSize;
    readonly double _scale;
    private readonly Conv1D c_attn;  // C -> 3C: query, key, value in one projection
    private readonly Conv1D c_proj;  // C -> C

    public Gpt2Attention(Gpt2Config config, int layerIndex) : base("attn")
    {
        _heads = config.Heads;
        _headSize = config.HeadSize;
        _scale = 1.0 / Math.Sqrt(_headSize);
        if (config.ScaleAttnByInverseLayerIdx) _scale /= layerIndex + 1;
        c_attn = new Conv1D("c_attn", config.Embedding, 3 * config.Embedding);
        c_proj = new Conv1D("c_proj", config.Embedding, config.Embedding);
        RegisterComponents();
    }

    /// <summary>What attention scores are multiplied by: 1/sqrt(head size), over (layer + 1) where the config says so.</summary>
    public double Scale => _scale;

    /// <summary>The query-key-value projection [3C, C] and the output projection [C, C].</summary>
    public (LinearWeights Qkv, LinearWeights Output) Weights => (c_attn.Weights, c_proj.Weights);

    // x: [B, T, C] -> [B, T, C]
    public override Tensor forward(Tensor x, AttentionContext ctx)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        var qkv = c_attn.forward(x).split(c, dim: 2);                          // 3 x [B, T, C]
        var q = qkv[0].view(b, t, _heads, _headSize).transpose(1, 2);         // [B, H, T, D]
        var k = qkv[1].view(b, t, _heads, _headSize).transpose(1, 2);         // [B, H, T, D]
        var v = qkv[2].view(b, t, _heads, _headSize).transpose(1, 2);         // [B, H, T, D]
        if (ctx.Cache is { } cache) (k, v) = cache.Append(ctx.Layer, k, v);  // [B, H, S, D], S = past + T

        var scores = q.matmul(k.transpose(-2, -1)).mul_(_scale).add_(ctx.Mask);  // [B, H, T, S]
        var weights = functional.softmax(scores, dim: -1);                     // [B, H, T, S]
        var y = weights.matmul(v);                                             // [B, H, T, D]
        y = y.transpose(1, 2).reshape(b, t, c);                                // [B, T, C]: heads side by side
        return c_proj.forward(y);                                              // [B, T, C]
    }
}

/// <summary>The feed-forward part of a block: C -> 4C -> C.</summary>
public sealed class Gpt2Mlp : Module<Tensor, Tensor>
{
    readonly Gpt2Activation _activation;
    private readonly Conv1D c_fc;    // C -> inner
    private readonly Conv1D c_proj;  // inner -> C

    public Gpt2Mlp(Gpt2Config config) : base("mlp")
    {
        _activation = config.ActivationFunction;
        c_fc = new Conv1D("c_fc", config.Embedding, config.InnerSize);
        c_proj = new Conv1D("c_proj", config.InnerSize, config.Embedding);
        RegisterComponents();
    }

    /// <summary>The up projection [inner, C] and the down projection [C, inner].</summary>
    public (LinearWeights Up, LinearWeights Down) Weights => (c_fc.Weights, c_proj.Weights);

    // x: [B, T, C] -> [B, T, C]
    public override Tensor forward(Tensor x)
    {
        var h = c_fc.forward(x);                                               // [B, T, inner]
        h = _activation switch
        {
            Gpt2Activation.Relu => functional.relu(h),
            Gpt2Activation.GeluErf => functional.gelu(h),
            _ => functional.gelu(h, TorchSharp.Modules.GELU.Approximate.tanh),
        };
        return c_proj.forward(h);                                              // [B, T, C]
    }
}

/// <summary>One transformer block, pre-LayerNorm with residuals.</summary>
public sealed class Gpt2Block : Module<Tensor, AttentionContext, Tensor>
{
    private readonly LayerNorm ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Gpt2Mlp mlp;

    public Gpt2Block(Gpt2Config config, int index) : base($"h.{index}")
    {
        ln_1 = LayerNorm(config.Embedding, config.LayerNormEpsilon);
        attn = new Gpt2Attention(config, index);
        ln_2 = LayerNorm(config.Embedding, config.LayerNormEpsilon);
        mlp = new Gpt2Mlp(config);
        RegisterComponents();
    }

    /// <summary>The block's weights, read-only.</summary>
    public Gpt2BlockWeights Weights
    {
        get
        {
            var (qkv, output) = attn.Weights;
            var (up, down) = mlp.Weights;
            return new Gpt2BlockWeights(Norm(ln_1), qkv, output, attn.Scale, Norm(ln_2), up, down);
        }
    }

    internal static NormWeights Norm(LayerNorm ln) => new(ln.weight!, ln.bias!);

    // x: [B, T, C] -> [B, T, C]
    public override Tensor forward(Tensor x, AttentionContext ctx)
    {
        x = x + attn.forward(ln_1.forward(x), ctx);
        return x + mlp.forward(ln_2.forward(x));
    }
}

/// <summary>
/// GPT-2 with its language-model head. Parameter names match Hugging Face's GPT2LMHeadModel
/// without the <c>transformer.</c> prefix (wte, wpe, h.N.*, ln_f); the head is tied to wte unless
/// the config unties it (then <c>lm_head</c>).
/// </summary>
public sealed class Gpt2LMHeadModel : Module<Tensor, Tensor>
{
    public Gpt2Config Config { get; }

    private readonly Embedding wte;              // [V, C] token embeddings, also the output projection when tied
    private readonly Embedding wpe;              // [P, C] position embeddings
    private readonly ModuleList<Gpt2Block> h;    // the blocks
    private readonly LayerNorm ln_f;             // final LayerNorm
    private readonly Parameter? lm_head;         // [V, C], only when the checkpoint does not tie it to wte

    public Gpt2LMHeadModel(Gpt2Config config) : base("gpt2")
    {
        config.Validate();
        Config = config;
        wte = Embedding(config.VocabSize, config.Embedding);
        wpe = Embedding(config.MaxPositions, config.Embedding);
        h = new ModuleList<Gpt2Block>(Enumerable.Range(0, config.Layers).Select(i => new Gpt2Block(config, i)).ToArray());
        ln_f = LayerNorm(config.Embedding, config.LayerNormEpsilon);
        if (!config.TieWordEmbeddings) lm_head = new Parameter(empty(config.VocabSize, config.Embedding));
        using (no_grad())
        {
            init.normal_(wte.weight!, 0, 0.02);
            init.normal_(wpe.weight!, 0, 0.01);
            if (lm_head is not null) init.normal_(lm_head, 0, 0.02);
        }
        RegisterComponents();
    }

    /// <summary>Where the parameters live.</summary>
    public Device Device => wte.weight!.device;

    /// <summary>The parameters' element type.</summary>
    public ScalarType DType => wte.weight!.dtype;

    /// <summary>
    /// A read-only view of the weights as they are now: the same tensors the modules compute with (not copies),
    /// gathered in one record for code that reads them directly (the CPU decoder, the bench, tests). Take a new
    /// view after moving the model (<c>to(...)</c> replaces the tensors).
    /// </summary>
    public Gpt2Weights Weights()
    {
        var tokenEmbedding = wte.weight!;   // once: the head is this very object when tied
        return new(tokenEmbedding, wpe.weight!,
                   Enumerable.Range(0, h.Count).Select(i => h[i].Weights).ToArray(),
                   Gpt2Block.Norm(ln_f),
                   lm_head ?? tokenEmbedding);
    }

    /// <summary>Plain causal forward of unpadded sequences from position 0. ids: [B, T] -> logits [B, T, V].</summary>
    public override Tensor forward(Tensor ids) => Forward(ids, positions: null, paddingMask: null, cache: null, lastOnly: false);

    /// <summary>
    /// The general forward, on torch: prompts, training and any decoding step the generator gives to torch.
    /// </summary>
    /// <param name="ids">[B, T] token ids of this step.</param>
    /// <param name="positions">[B, T] position ids (left-padded rows start later), or null for past..past+T-1.</param>
    /// <param name="paddingMask">[B, S] with 1 for real tokens and 0 for padding over all S = past + T positions, or null.</param>
    /// <param name="cache">KV cache holding the past (this step's keys and values are appended), or null.</param>
    /// <param name="lastOnly">Compute logits for the last position only ([B, 1, V]): what decoding needs.</param>
    /// <returns>Logits [B, T, V] (or [B, 1, V]).</returns>
    public Tensor Forward(Tensor ids, Tensor? positions, Tensor? paddingMask, KvCache? cache, bool lastOnly)
    {
        using var scope = NewDisposeScope();
        long b = ids.shape[0], t = ids.shape[1];
        int past = cache?.Length ?? 0;
        long s = past + t;
        if (s > Config.MaxPositions)
            throw new ArgumentException($"sequence of {s} tokens exceeds the model's {Config.MaxPositions} positions");
        positions ??= arange(past, s, dtype: ScalarType.Int64, device: Device).unsqueeze(0).expand(b, t);  // [B, T]

        var x = wte.forward(ids) + wpe.forward(positions);                   // [B, T, C]
        var mask = AttentionMask(b, t, past, paddingMask, x.dtype, x.device); // [B, 1, T, S]
        for (int i = 0; i < h.Count; i++)
            x = h[i].forward(x, new AttentionContext(mask, cache, i));        // [B, T, C]
        cache?.Advance((int)t);
        if (lastOnly) x = x.narrow(1, t - 1, 1);                              // [B, 1, C]
        x = ln_f.forward(x);
        var logits = x.matmul((lm_head ?? wte.weight!).t());                  // [B, T, V]
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Causal mask combined with the padding mask, as additive values: [B, 1, T, S].</summary>
    static Tensor AttentionMask(long b, long t, int past, Tensor? paddingMask, ScalarType dtype, Device device)
    {
        long s = past + t;
        // query i (absolute position past+i) may see key j when j <= past + i
        var q = arange(past, s, dtype: ScalarType.Int64, device: device).unsqueeze(1);   // [T, 1]
        var k = arange(0, s, dtype: ScalarType.Int64, device: device).unsqueeze(0);      // [1, S]
        var allowed = k.le(q).unsqueeze(0).unsqueeze(0);                                 // [1, 1, T, S]
        if (paddingMask is not null)
            allowed = allowed.logical_and(paddingMask.to(ScalarType.Bool).view(b, 1, 1, s));  // [B, 1, T, S]
        // A large finite negative rather than -inf: a fully masked row (a padding query) stays finite.
        double negative = dtype == ScalarType.Float32 ? float.MinValue : -65504.0;
        return zeros(1, dtype: dtype, device: device).masked_fill(allowed.logical_not(), negative)
            .expand(allowed.shape).to(dtype);
    }

    /// <summary>Parameters in bytes: what one decoding step must read.</summary>
    public long ParameterBytes => parameters().Sum(p => p.numel() * p.ElementSize);
}
