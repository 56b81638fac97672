using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// GPT-2's "Conv1D" projection, y = x W + b. Hugging Face's files store W as [in, out] (the original
/// TensorFlow layout); here it is kept as [out, in], nn.Linear's layout, and <see cref="Gpt2Checkpoint"/>
/// transposes on load and save. Why: batch-1 decoding (<see cref="Gpt2CpuDecoder"/>) computes every
/// output as the dot product of one contiguous weight row with x, and that streams from memory faster
/// than summing x-weighted rows of the [in, out] layout (69 vs 58 GB/s over GPT-2 small's blocks here).
/// </summary>
public sealed class Conv1D : Module<Tensor, Tensor>
{
    public Parameter weight;  // [out, in]
    public Parameter bias;    // [out]

    public Conv1D(string name, long inFeatures, long outFeatures) : base(name)
    {
        weight = new Parameter(empty(outFeatures, inFeatures));
        bias = new Parameter(zeros(outFeatures));
        init.normal_(weight, 0, 0.02);
        RegisterComponents();
    }

    // x: [..., in] -> [..., out]
    public override Tensor forward(Tensor x) => functional.linear(x, weight, bias);

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
    public Conv1D c_attn;  // [C, 3C]: query, key, value in one projection
    public Conv1D c_proj;  // [C, C]

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
        var weights = functional.softmax(scores, dim: -1);
        var y = weights.matmul(v);                                             // [B, H, T, D]
        y = y.transpose(1, 2).reshape(b, t, c);                                // [B, T, C]
        return c_proj.forward(y);
    }
}

/// <summary>The feed-forward part of a block: C -> 4C -> C.</summary>
public sealed class Gpt2Mlp : Module<Tensor, Tensor>
{
    readonly Gpt2Activation _activation;
    public Conv1D c_fc;
    public Conv1D c_proj;

    public Gpt2Mlp(Gpt2Config config) : base("mlp")
    {
        _activation = config.ActivationFunction;
        c_fc = new Conv1D("c_fc", config.Embedding, config.InnerSize);
        c_proj = new Conv1D("c_proj", config.InnerSize, config.Embedding);
        RegisterComponents();
    }

    // x: [B, T, C] -> [B, T, C]
    public override Tensor forward(Tensor x)
    {
        var h = c_fc.forward(x);
        h = _activation switch
        {
            Gpt2Activation.Relu => functional.relu(h),
            Gpt2Activation.GeluErf => functional.gelu(h),
            _ => functional.gelu(h, TorchSharp.Modules.GELU.Approximate.tanh),
        };
        return c_proj.forward(h);
    }
}

/// <summary>One transformer block, pre-LayerNorm with residuals.</summary>
public sealed class Gpt2Block : Module<Tensor, AttentionContext, Tensor>
{
    public LayerNorm ln_1;
    public Gpt2Attention attn;
    public LayerNorm ln_2;
    public Gpt2Mlp mlp;

    public Gpt2Block(Gpt2Config config, int index) : base($"h.{index}")
    {
        ln_1 = LayerNorm(config.Embedding, config.LayerNormEpsilon);
        attn = new Gpt2Attention(config, index);
        ln_2 = LayerNorm(config.Embedding, config.LayerNormEpsilon);
        mlp = new Gpt2Mlp(config);
        RegisterComponents();
    }

    // x: [B, T, C] -> [B, T, C]
    public override Tensor forward(Tensor x, AttentionContext ctx)
    {
        x = x + attn.forward(ln_1.forward(x), ctx);
        return x + mlp.forward(ln_2.forward(x));
    }
}

/// <summary>
/// GPT-2 with its language-model head. Parameter names match Hugging Face's GPT2LMHeadModel
/// without the <c>transformer.</c> prefix (wte, wpe, h.N.*, ln_f); the head is tied to wte.
/// </summary>
public sealed class Gpt2LMHeadModel : Module<Tensor, Tensor>
{
    public Gpt2Config Config { get; }

    public Embedding wte;   // [V, C] token embeddings, also the output projection
    public Embedding wpe;   // [P, C] position embeddings
    public ModuleList<Gpt2Block> h;
    public LayerNorm ln_f;
    public Parameter? lm_head;  // [V, C], only when the checkpoint does not tie it to wte

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

    /// <summary>Plain causal forward of unpadded sequences from position 0. ids: [B, T] -> logits [B, T, V].</summary>
    public override Tensor forward(Tensor ids) => Forward(ids, positions: null, paddingMask: null, cache: null, lastOnly: false);

    /// <summary>
    /// The general forward.
    /// </summary>
    /// <param name="ids">[B, T] token ids of this step.</param>
    /// <param name="positions">[B, T] position ids (left-padded rows start later), or null for past..past+T-1.</param>
    /// <param name="paddingMask">[B, S] with 1 for real tokens and 0 for padding over all S = past + T positions, or null.</param>
    /// <param name="cache">KV cache holding the past, or null.</param>
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
        if (cache is not null && TryCpuDecode(ids, positions, paddingMask, cache) is { } decoded)
            return decoded.MoveToOuterDisposeScope();
        var device = wte.weight!.device;
        positions ??= arange(past, s, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(b, t);

        var x = wte.forward(ids) + wpe.forward(positions);                   // [B, T, C]
        var mask = AttentionMask(b, t, past, paddingMask, x.dtype, device);   // [B, 1, T, S]
        for (int i = 0; i < h.Count; i++)
            x = h[i].forward(x, new AttentionContext(mask, cache, i));
        cache?.Advance((int)t);
        if (lastOnly) x = x.narrow(1, t - 1, 1);
        x = ln_f.forward(x);
        var head = lm_head ?? wte.weight!;
        var logits = x.matmul(head.t());                                      // [B, T, V]
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Decode steps of up to <see cref="Gpt2CpuDecoder.MaxRows"/> sequences with <see cref="Gpt2CpuDecoder"/>
    /// where it applies (on by default; off forces the torch path, which the tests compare it with).
    /// </summary>
    public bool CpuDecoding { get; set; } = true;

    /// <summary>The most sequences a CPU decoding step takes; larger batches use the torch path.</summary>
    public const int CpuDecodingMaxRows = Gpt2CpuDecoder.MaxRows;

    /// <summary>Whether decoding steps of <paramref name="rows"/> sequences will take <see cref="Gpt2CpuDecoder"/> (inference, CPU, fp32).</summary>
    public bool DecodesOnCpu(int rows) => CpuDecodingTakes(rows) && Gpt2CpuDecoder.Supports(this);

    /// <summary>The switch and the row limit; whether the model's parameters suit the path is <see cref="Gpt2CpuDecoder.Supports"/>.</summary>
    bool CpuDecodingTakes(long rows) => CpuDecoding && rows <= Gpt2CpuDecoder.MaxRows;

    /// <summary>How many forward passes the CPU decoding path has served (diagnostics and tests).</summary>
    public long CpuDecodedSteps => Interlocked.Read(ref _cpuDecodedSteps);
    long _cpuDecodedSteps;

    /// <summary>
    /// A one-token, no-gradient step of up to <see cref="Gpt2CpuDecoder.MaxRows"/> rows on the CPU in fp32
    /// goes to <see cref="Gpt2CpuDecoder"/>; anything else returns null and takes the torch path.
    /// </summary>
    Tensor? TryCpuDecode(Tensor ids, Tensor? positions, Tensor? paddingMask, KvCache cache)
    {
        long rows = ids.shape[0];
        if (!CpuDecodingTakes(rows) || ids.shape[1] != 1 || rows != cache.Batch || is_grad_enabled()) return null;
        if (cache.CpuDecoder is not { } decoder || !decoder.IsFor(this))
        {
            if (!Gpt2CpuDecoder.Supports(this)) return null;
            cache.CpuDecoder?.Dispose();
            cache.CpuDecoder = decoder = new Gpt2CpuDecoder(this, cache);
        }
        long[] tokens = ids.cpu().data<long>().ToArray();
        foreach (long token in tokens)
            if (token < 0 || token >= Config.VocabSize)
                throw new ArgumentException($"token id {token} is outside the vocabulary (0..{Config.VocabSize - 1})");
        long[] at = positions is null ? Enumerable.Repeat((long)cache.Length, (int)rows).ToArray() : positions.cpu().data<long>().ToArray();
        foreach (long position in at)
            if (position < 0 || position >= Config.MaxPositions)
                throw new ArgumentException($"position {position} is outside the model's {Config.MaxPositions} positions");
        long[]? mask = paddingMask?.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var logits = decoder.Step(tokens, at, mask);
        cache.Advance(1);
        Interlocked.Increment(ref _cpuDecodedSteps);
        return logits;
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
