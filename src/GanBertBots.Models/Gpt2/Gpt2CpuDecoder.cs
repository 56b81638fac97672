using System.Runtime.InteropServices;
using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// One decoding step of a single sequence (batch 1, one new token) on the CPU in fp32, computed
/// straight from the weights' memory with <see cref="CpuKernels"/> spread over a <see cref="CpuTeam"/>.
/// <para>
/// It computes exactly what <see cref="Gpt2LMHeadModel.Forward"/> computes for that case (the tests
/// hold the two to 1e-5): embeddings, then per block LN → QKV → append to the KV cache → causal
/// attention over the cache → projection + residual → LN → MLP + residual, then LN and the tied
/// head. It exists because at batch 1 every step is a chain of matrix-vector products over 500 MB
/// of weights, and libtorch's CPU BLAS reads them at a third of the memory's speed; each torch
/// call also costs a few microseconds, about 2 ms a step. Other cases (batches, prompts, training,
/// CUDA, half precision) stay on the torch path.
/// </para>
/// </summary>
internal sealed unsafe class Gpt2CpuDecoder : IDisposable
{
    /// <summary>Whether a model (as it is now) can decode on this path.</summary>
    public static bool Supports(Gpt2LMHeadModel model) =>
        model.wte.weight!.device_type == TorchSharp.DeviceType.CPU
        && model.wte.weight!.dtype == ScalarType.Float32
        && model.Config.Activation != "gelu"          // exact erf GELU: left to torch
        && model.parameters().All(p => p.is_contiguous());

    // ---- what the step reads: pointers into the model's parameters and the cache -------------------

    readonly struct LayerWeights
    {
        public readonly float* Ln1W, Ln1B, AttnW, AttnB, AttnProjW, AttnProjB, Ln2W, Ln2B, FcW, FcB, MlpProjW, MlpProjB;
        public readonly float Scale;

        public LayerWeights(Gpt2Block b)
        {
            Ln1W = Ptr(b.ln_1.weight!); Ln1B = Ptr(b.ln_1.bias!);
            AttnW = Ptr(b.attn.c_attn.weight); AttnB = Ptr(b.attn.c_attn.bias);
            AttnProjW = Ptr(b.attn.c_proj.weight); AttnProjB = Ptr(b.attn.c_proj.bias);
            Ln2W = Ptr(b.ln_2.weight!); Ln2B = Ptr(b.ln_2.bias!);
            FcW = Ptr(b.mlp.c_fc.weight); FcB = Ptr(b.mlp.c_fc.bias);
            MlpProjW = Ptr(b.mlp.c_proj.weight); MlpProjB = Ptr(b.mlp.c_proj.bias);
            Scale = (float)b.attn.Scale;
        }
    }

    readonly Gpt2LMHeadModel _model;   // keeps the parameters alive while we hold their addresses
    readonly KvCache _cache;
    readonly int _c, _heads, _headSize, _inner, _vocab, _capacity;
    readonly float _eps;
    readonly bool _relu;
    readonly float* _wte, _wpe, _lnfW, _lnfB, _head;
    readonly LayerWeights[] _layers;
    readonly float*[] _keys, _values;   // per layer, [heads, capacity, headSize] (batch 1)

    // Scratch, one block of native memory: x, normed, qkv, attention output, MLP hidden, GELU scratch,
    // a projection's output before it joins the residual, attention scores.
    readonly float* _x, _normed, _qkv, _att, _hidden, _scratch, _product, _scores;
    readonly void* _memory;

    public Gpt2CpuDecoder(Gpt2LMHeadModel model, KvCache cache)
    {
        if (cache.Batch != 1) throw new ArgumentException("the CPU decoder runs one sequence at a time");
        _model = model;
        _cache = cache;
        var cfg = model.Config;
        _c = cfg.Embedding; _heads = cfg.Heads; _headSize = cfg.HeadSize; _inner = cfg.InnerSize;
        _vocab = cfg.VocabSize; _capacity = cache.Capacity;
        _eps = (float)cfg.LayerNormEpsilon;
        _relu = cfg.Activation == "relu";
        _wte = Ptr(model.wte.weight!); _wpe = Ptr(model.wpe.weight!);
        _lnfW = Ptr(model.ln_f.weight!); _lnfB = Ptr(model.ln_f.bias!);
        _head = model.lm_head is null ? _wte : Ptr(model.lm_head);
        _layers = Enumerable.Range(0, cfg.Layers).Select(i => new LayerWeights(model.h[i])).ToArray();
        _keys = new float*[cfg.Layers];
        _values = new float*[cfg.Layers];
        for (int i = 0; i < cfg.Layers; i++)
        {
            _keys[i] = Ptr(cache.Keys(i));
            _values[i] = Ptr(cache.Values(i));
        }

        long floats = 3L * _c + 3L * _c + 2L * _inner + _c + (long)_heads * _capacity;
        _memory = NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        var p = (float*)_memory;
        _x = p; p += _c;
        _normed = p; p += _c;
        _att = p; p += _c;
        _qkv = p; p += 3 * _c;
        _hidden = p; p += _inner;
        _scratch = p; p += _inner;
        _product = p; p += _c;
        _scores = p;
    }

    public bool IsFor(Gpt2LMHeadModel model) => ReferenceEquals(model, _model);

    /// <summary>
    /// Feeds one token at <paramref name="position"/>, appends its keys and values to the cache at
    /// the cache's current length, and returns the next-token logits [1, 1, V]. The caller advances the cache.
    /// </summary>
    public Tensor Step(long token, long position)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int past = _cache.Length;
        if (past >= _capacity) throw new InvalidOperationException($"KV cache full: {past} + 1 > {_capacity}");
        var team = CpuTeam.Shared(TorchThreads.Available);

        // x = wte[token] + wpe[position]
        CpuKernels.Add(_wte + token * _c, _wpe + position * _c, _c, _x);
        for (int l = 0; l < _layers.Length; l++)
        {
            ref readonly var w = ref _layers[l];
            // attention
            CpuKernels.LayerNorm(_x, w.Ln1W, w.Ln1B, _eps, _c, _normed);
            Linear(team, _normed, w.AttnW, w.AttnB, _c, 3 * _c, _qkv, accumulate: false);   // [3C] = q | k | v
            Attend(team, l, past, w.Scale);                                                // _att [C]
            Linear(team, _att, w.AttnProjW, w.AttnProjB, _c, _c, _x, accumulate: true);     // x += attention
            // MLP
            CpuKernels.LayerNorm(_x, w.Ln2W, w.Ln2B, _eps, _c, _normed);
            Linear(team, _normed, w.FcW, w.FcB, _c, _inner, _hidden, accumulate: false);
            if (_relu) CpuKernels.Relu(_hidden, _inner);
            else CpuKernels.GeluTanh(_hidden, _inner, _scratch);
            Linear(team, _hidden, w.MlpProjW, w.MlpProjB, _inner, _c, _x, accumulate: true);  // x += MLP
        }
        CpuKernels.LayerNorm(_x, _lnfW, _lnfB, _eps, _c, _normed);

        // logits = head @ x: rows of the [V, C] table against the final hidden state
        var logits = empty(1, 1, _vocab, ScalarType.Float32);
        float* y = Ptr(logits);
        float* head = _head, normed = _normed;
        int c = _c, vocab = _vocab;
        int chunks = Math.Min(_vocab / 256 + 1, team.Size);
        int rowsPerChunk = (vocab + chunks - 1) / chunks;
        team.For(chunks, i => CpuKernels.MatVecRows(head, normed, c, i * rowsPerChunk, Math.Min(vocab, (i + 1) * rowsPerChunk), y));
        return logits;
    }

    /// <summary>
    /// y (= or +=) w x + b for w [n, k] row-major (Conv1D's [out, in]): each output is one contiguous
    /// row against x, and the rows are split into one band per team member.
    /// </summary>
    void Linear(CpuTeam team, float* x, float* w, float* b, int k, int n, float* y, bool accumulate)
    {
        float* output = accumulate ? _product : y;
        int chunks = Math.Clamp(n / 64, 1, team.Size);
        int rowsPerChunk = (n + chunks - 1) / chunks;
        team.For(chunks, i => CpuKernels.MatVecRows(w, x, k, i * rowsPerChunk, Math.Min(n, (i + 1) * rowsPerChunk), output));
        CpuKernels.Add(output, b, n, output);
        if (accumulate) CpuKernels.Add(y, output, n, y);
    }

    /// <summary>Writes this token's keys and values into the cache and attends over positions 0..past: _att = softmax(q K^T · scale) V.</summary>
    void Attend(CpuTeam team, int layer, int past, float scale)
    {
        float* q = _qkv, k = _qkv + _c, v = _qkv + 2 * _c;
        float* keys = _keys[layer], values = _values[layer], scores = _scores, att = _att;
        int d = _headSize, capacity = _capacity, s = past + 1;
        for (int h = 0; h < _heads; h++)
        {
            new ReadOnlySpan<float>(k + h * d, d).CopyTo(new Span<float>(keys + ((long)h * capacity + past) * d, d));
            new ReadOnlySpan<float>(v + h * d, d).CopyTo(new Span<float>(values + ((long)h * capacity + past) * d, d));
        }
        // Heads are independent: one chunk each once the context is long enough to be worth sharing.
        int chunks = (long)s * _c >= 16384 ? _heads : 1;
        int heads = _heads;
        team.For(chunks, chunk =>
        {
            int h0 = chunks == 1 ? 0 : chunk, h1 = chunks == 1 ? heads : chunk + 1;
            for (int h = h0; h < h1; h++)
                CpuKernels.AttendHead(q + h * d, keys + (long)h * capacity * d, values + (long)h * capacity * d, s, d, scale,
                                      scores + (long)h * capacity, att + h * d);
        });
    }

    static float* Ptr(Tensor t) => CpuKernels.Pointer(t);

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeMemory.AlignedFree(_memory);
        GC.SuppressFinalize(this);
    }

    ~Gpt2CpuDecoder() => Dispose();
}
