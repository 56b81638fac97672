using System.Runtime.InteropServices;
using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// One generation's decoding steps on the CPU path (<see cref="Gpt2CpuDecoder.TryBegin"/>): one new token for
/// each of up to <see cref="Gpt2CpuDecoder.MaxRows"/> sequences, in fp32, computed from the weights' memory
/// with <see cref="CpuKernels"/> spread over the decoder's <see cref="CpuTeam"/>.
/// <para>
/// It computes exactly what <see cref="Gpt2LMHeadModel.Forward"/> computes for that case (the tests hold the
/// two to 1e-5): embeddings, then per block LN → QKV → append to the KV cache → attention over the cache (a
/// row sees only its non-padding positions) → projection + residual → LN → MLP + residual, then LN and the head.
/// </para>
/// <para>
/// It holds the addresses of the weights (read through a <see cref="Gpt2Weights"/> view) and of the cache, and
/// scratch memory sized for the cache; and, while it lives, the calling thread's torch thread limit.
/// </para>
/// </summary>
internal sealed unsafe class Gpt2CpuDecodeStep : IDecodeStep
{
    // ---- what the step reads: pointers into the weights and the cache -------------------

    readonly struct LayerWeights
    {
        public readonly float* Ln1W, Ln1B, AttnW, AttnB, AttnProjW, AttnProjB, Ln2W, Ln2B, FcW, FcB, MlpProjW, MlpProjB;
        public readonly float Scale;

        public LayerWeights(Gpt2BlockWeights b)
        {
            Ln1W = Ptr(b.Norm1.Weight); Ln1B = Ptr(b.Norm1.Bias);
            AttnW = Ptr(b.Qkv.Weight); AttnB = Ptr(b.Qkv.Bias);
            AttnProjW = Ptr(b.AttentionOutput.Weight); AttnProjB = Ptr(b.AttentionOutput.Bias);
            Ln2W = Ptr(b.Norm2.Weight); Ln2B = Ptr(b.Norm2.Bias);
            FcW = Ptr(b.MlpUp.Weight); FcB = Ptr(b.MlpUp.Bias);
            MlpProjW = Ptr(b.MlpDown.Weight); MlpProjB = Ptr(b.MlpDown.Bias);
            Scale = (float)b.AttentionScale;
        }
    }

    readonly Gpt2Weights _weights;   // keeps the tensors alive while we hold their addresses
    readonly KvCache _cache;
    readonly CpuTeam _team;
    readonly Action _counted;
    readonly IDisposable _oneTorchThread;
    readonly int _rows, _c, _heads, _headSize, _inner, _vocab, _positions, _capacity;
    readonly float _eps;
    readonly bool _relu;
    readonly float* _wte, _wpe, _lnfW, _lnfB, _head;
    readonly LayerWeights[] _layers;
    readonly float*[] _keys, _values;   // per layer, [rows, heads, capacity, headSize]

    // Scratch, one block of native memory, each [rows, width]: x, normed, qkv, attention output, MLP
    // hidden, GELU scratch, a projection's output before it joins the residual; attention scores
    // [rows, heads, capacity]; which cached positions each row may see [rows, capacity].
    readonly float* _x, _normed, _qkv, _att, _hidden, _scratch, _product, _scores;
    readonly byte* _allowed;
    readonly void* _memory;

    /// <param name="counted">Called after every step (the decoder's count).</param>
    public Gpt2CpuDecodeStep(Gpt2Config cfg, Gpt2Weights weights, KvCache cache, CpuTeam team, Action counted)
    {
        if (cache.Batch is < 1 or > Gpt2CpuDecoder.MaxRows)
            throw new ArgumentException($"the CPU decoder takes 1 to {Gpt2CpuDecoder.MaxRows} sequences, not {cache.Batch}");
        _weights = weights;
        _cache = cache;
        _team = team;
        _counted = counted;
        _rows = (int)cache.Batch;
        _c = cfg.Embedding; _heads = cfg.Heads; _headSize = cfg.HeadSize; _inner = cfg.InnerSize;
        _vocab = cfg.VocabSize; _positions = cfg.MaxPositions; _capacity = cache.Capacity;
        _eps = (float)cfg.LayerNormEpsilon;
        _relu = cfg.ActivationFunction == Gpt2Activation.Relu;
        _wte = Ptr(weights.TokenEmbedding); _wpe = Ptr(weights.PositionEmbedding);
        _lnfW = Ptr(weights.FinalNorm.Weight); _lnfB = Ptr(weights.FinalNorm.Bias);
        _head = Ptr(weights.Head);
        _layers = weights.Blocks.Select(b => new LayerWeights(b)).ToArray();
        _keys = new float*[cfg.Layers];
        _values = new float*[cfg.Layers];
        for (int i = 0; i < cfg.Layers; i++)
        {
            _keys[i] = Ptr(cache.Keys(i));
            _values[i] = Ptr(cache.Values(i));
        }

        long perRow = 3L * _c + 3L * _c + 2L * _inner + _c + (long)_heads * _capacity;
        long floats = _rows * perRow;
        _memory = NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float) + _rows * (long)_capacity), 64);
        var p = (float*)_memory;
        _x = p; p += _rows * _c;
        _normed = p; p += _rows * _c;
        _att = p; p += _rows * _c;
        _qkv = p; p += _rows * 3 * _c;
        _hidden = p; p += _rows * _inner;
        _scratch = p; p += _rows * _inner;
        _product = p; p += _rows * _c;
        _scores = p; p += (long)_rows * _heads * _capacity;
        _allowed = (byte*)p;

        // Last, once nothing above can throw: the team spreads each step over the cores, so the small torch
        // operations between steps (sampling) stay on this thread rather than waking torch's pool.
        _oneTorchThread = TorchThreads.LimitCallingThread(1);
    }

    public Tensor Next(Tensor ids, Tensor? positions, Tensor? paddingMask)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ids.dim() != 2 || ids.shape[0] != _rows || ids.shape[1] != 1)
            throw new ArgumentException($"a step of {_rows} rows takes ids [{_rows}, 1], not [{string.Join(", ", ids.shape)}]");
        using var scope = NewDisposeScope();
        long[] tokens = ids.cpu().data<long>().ToArray();
        foreach (long token in tokens)
            if (token < 0 || token >= _vocab)
                throw new ArgumentException($"token id {token} is outside the vocabulary (0..{_vocab - 1})");
        long[] at = positions is null ? Enumerable.Repeat((long)_cache.Length, _rows).ToArray() : positions.cpu().data<long>().ToArray();
        foreach (long position in at)
            if (position < 0 || position >= _positions)
                throw new ArgumentException($"position {position} is outside the model's {_positions} positions");
        long[]? mask = paddingMask?.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var logits = Step(tokens, at, mask);
        _cache.Advance(1);
        _counted();
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Feeds one token per row at its position, appends the keys and values to the cache at the
    /// cache's current length, and returns the next-token logits [rows, V]. The caller advances the cache.
    /// </summary>
    /// <param name="tokens">One token id per row.</param>
    /// <param name="positions">One position id per row (left-padded rows count from their first real token).</param>
    /// <param name="mask">[rows, length + 1] with 1 where a row may attend (its real tokens) and 0 at padding, or null for all.</param>
    Tensor Step(long[] tokens, long[] positions, long[]? mask)
    {
        int past = _cache.Length, s = past + 1;
        if (past >= _capacity) throw new InvalidOperationException($"KV cache full: {past} + 1 > {_capacity}");
        if (tokens.Length != _rows || positions.Length != _rows || mask is not null && mask.Length != (long)_rows * s)
            throw new ArgumentException($"a step of {_rows} rows needs {_rows} tokens, {_rows} positions and a [{_rows}, {s}] mask");
        var team = _team;

        bool masked = false;
        for (int r = 0; r < _rows; r++)
        {
            // x = wte[token] + wpe[position]
            CpuKernels.Add(_wte + tokens[r] * _c, _wpe + positions[r] * _c, _c, _x + r * _c);
            byte* allowed = _allowed + (long)r * _capacity;
            bool any = false;
            for (int j = 0; j < s; j++)
            {
                allowed[j] = mask is null || mask[(long)r * s + j] != 0 ? (byte)1 : (byte)0;
                any |= allowed[j] != 0;
                masked |= allowed[j] == 0;
            }
            if (!any) allowed[s - 1] = 1;   // a row masked everywhere (padding only): its output is never read
        }
        for (int l = 0; l < _layers.Length; l++)
        {
            ref readonly var w = ref _layers[l];
            // attention
            LayerNorm(_x, w.Ln1W, w.Ln1B, _normed);
            Linear(team, _normed, w.AttnW, w.AttnB, _c, 3 * _c, _qkv, Output.Set);          // [rows, 3C] = q | k | v
            Attend(team, l, past, w.Scale, masked);                                         // _att [rows, C]
            Linear(team, _att, w.AttnProjW, w.AttnProjB, _c, _c, _x, Output.AddTo);          // x += attention
            // MLP
            LayerNorm(_x, w.Ln2W, w.Ln2B, _normed);
            Linear(team, _normed, w.FcW, w.FcB, _c, _inner, _hidden, _relu ? Output.SetRelu : Output.SetGelu);
            Linear(team, _hidden, w.MlpProjW, w.MlpProjB, _inner, _c, _x, Output.AddTo);      // x += MLP
        }
        LayerNorm(_x, _lnfW, _lnfB, _normed);

        // logits = head @ x: rows of the [V, C] table against every row's final hidden state
        var logits = empty(_rows, _vocab, ScalarType.Float32);
        CpuKernels.MatMat(team, _head, _normed, _rows, _c, _vocab, Ptr(logits));
        return logits;
    }

    void LayerNorm(float* x, float* gamma, float* beta, float* y)
    {
        for (int r = 0; r < _rows; r++) CpuKernels.LayerNorm(x + r * _c, gamma, beta, _eps, _c, y + r * _c);
    }

    /// <summary>What <see cref="Linear"/> does with x wᵀ + b.</summary>
    enum Output { Set, SetGelu, SetRelu, AddTo }

    /// <summary>
    /// For every row of x [rows, k] and w [n, k] row-major (Conv1D's [out, in], so each output is one
    /// contiguous weight row against x): y = x wᵀ + b, y = act(x wᵀ + b), or y += x wᵀ + b. The bias,
    /// activation and residual are applied by the thread that computed each piece of outputs, right after it.
    /// </summary>
    void Linear(CpuTeam team, float* x, float* w, float* b, int k, int n, float* y, Output mode)
    {
        float* output = mode == Output.AddTo ? _product : y;
        float* scratch = _scratch;
        int rows = _rows;
        CpuKernels.MatMat(team, w, x, rows, k, n, output, (first, end) =>
        {
            int width = end - first;
            for (int r = 0; r < rows; r++)
            {
                float* o = output + (long)r * n + first;
                CpuKernels.Add(o, b + first, width, o);
                switch (mode)
                {
                    case Output.SetGelu: CpuKernels.GeluTanh(o, width, scratch + (long)r * n + first); break;
                    case Output.SetRelu: CpuKernels.Relu(o, width); break;
                    case Output.AddTo: CpuKernels.Add(y + (long)r * n + first, o, width, y + (long)r * n + first); break;
                }
            }
        });
    }

    /// <summary>Writes this token's keys and values into the cache and attends over positions 0..past: _att = softmax(q Kᵀ · scale) V.</summary>
    void Attend(CpuTeam team, int layer, int past, float scale, bool masked)
    {
        float* keys = _keys[layer], values = _values[layer], scores = _scores, att = _att, qkv = _qkv;
        byte* allowed = masked ? _allowed : null;
        int d = _headSize, c = _c, heads = _heads, capacity = _capacity, s = past + 1;
        long headStride = (long)capacity * d;
        for (int r = 0; r < _rows; r++)
            for (int h = 0; h < heads; h++)
            {
                float* k = qkv + (long)r * 3 * c + c + h * d, v = k + c;
                long at = ((long)r * heads + h) * headStride + (long)past * d;
                new ReadOnlySpan<float>(k, d).CopyTo(new Span<float>(keys + at, d));
                new ReadOnlySpan<float>(v, d).CopyTo(new Span<float>(values + at, d));
            }
        // (row, head) pairs are independent: one chunk each once the context is long enough to be worth sharing.
        int pairs = _rows * heads;
        int chunks = (long)s * c * _rows >= 16384 ? pairs : 1;
        team.For(chunks, chunk =>
        {
            int first = chunks == 1 ? 0 : chunk, last = chunks == 1 ? pairs : chunk + 1;
            for (int pair = first; pair < last; pair++)
            {
                int r = pair / heads, h = pair % heads;
                long cacheAt = (long)pair * headStride;   // [rows, heads, capacity, d]
                CpuKernels.AttendHead(qkv + (long)r * 3 * c + h * d, keys + cacheAt, values + cacheAt, s, d, scale,
                                      scores + (long)pair * capacity, att + (long)r * c + h * d,
                                      allowed is null ? null : allowed + (long)r * capacity);
            }
        });
    }

    static float* Ptr(Tensor t) => CpuKernels.Pointer(t);

    bool _disposed;

    /// <summary>Frees the scratch and restores the calling thread's torch thread count (call it on the thread that began the step).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _oneTorchThread.Dispose();
        NativeMemory.AlignedFree(_memory);
        GC.SuppressFinalize(this);
    }

    ~Gpt2CpuDecodeStep()
    {
        // Only the native scratch: the torch limit belongs to a thread the finalizer does not run on.
        if (_disposed) return;
        _disposed = true;
        NativeMemory.AlignedFree(_memory);
    }
}
