using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GanBertBots.Models.Runtime;

/// <summary>
/// The few fp32 kernels a decoding step of 1 to 32 sequences needs, written over raw memory with
/// 512-bit vectors (the JIT maps them to AVX-512, or to pairs of narrower registers where that is
/// missing). Every dimension may be any size: the vector loops are followed by scalar tails.
/// <para>
/// Why not libtorch: at batch 1 a decoding step is a chain of matrix-vector products, and the
/// BLAS inside libtorch's CPU build streams weights well below what the memory delivers (figures in
/// docs/decoding.md). <see cref="MatVecRows"/> reads each weight once, in address order.
/// </para>
/// </summary>
public static unsafe class CpuKernels
{
    const int W = 16;   // floats per Vector512

    /// <summary>
    /// y[r] = w[r, 0..k) · x for r in [r0, r1): rows of a row-major [R, k] matrix against one vector.
    /// One row after another, so a band is a single sequential stream, which reads faster than
    /// several rows side by side.
    /// <para>
    /// A single core cannot stream the memory's whole bandwidth: it is limited by how many bytes it
    /// keeps in flight, so what matters is how few instructions each byte costs and how soon each
    /// load retires. Where AVX-512 is present and every row starts on a 64-byte boundary (libtorch
    /// aligns its buffers so; GPT-2's widths are multiples of 16 floats), the weights are read with
    /// non-temporal loads (they are used once per step, so they need not displace the cache) into
    /// eight independent accumulators, which comes close to what bare non-temporal loads with no
    /// arithmetic reach. docs/decoding.md has the measurements.
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatVecRows(float* w, float* x, int k, int r0, int r1, float* y)
    {
        if (Avx512F.IsSupported && ((nint)w & 63) == 0 && k % W == 0)
        {
            StreamingMatVecRows(w, x, k, r0, r1, y);
            return;
        }
        int blockEnd = k - k % (4 * W), vecEnd = k - k % W;
        for (int r = r0; r < r1; r++)
        {
            float* a = w + (long)r * k;
            var s0 = Vector512<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
            int j = 0;
            for (; j < blockEnd; j += 4 * W)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + j), Vector512.Load(x + j), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + j + W), Vector512.Load(x + j + W), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(a + j + 2 * W), Vector512.Load(x + j + 2 * W), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(a + j + 3 * W), Vector512.Load(x + j + 3 * W), s3);
            }
            for (; j < vecEnd; j += W)
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + j), Vector512.Load(x + j), s0);
            float t = Vector512.Sum((s0 + s1) + (s2 + s3));
            for (; j < k; j++) t = MathF.FusedMultiplyAdd(a[j], x[j], t);
            y[r] = t;
        }
    }

    /// <summary><see cref="MatVecRows"/> for 64-byte aligned rows whose width is a multiple of 16: non-temporal loads, eight accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void StreamingMatVecRows(float* w, float* x, int k, int r0, int r1, float* y)
    {
        int blockEnd = k - k % (8 * W);
        for (int r = r0; r < r1; r++)
        {
            float* a = w + (long)r * k;
            var s0 = Vector512<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
            var s4 = s0; var s5 = s0; var s6 = s0; var s7 = s0;
            int j = 0;
            for (; j < blockEnd; j += 8 * W)
            {
                s0 = Vector512.FusedMultiplyAdd(Stream(a + j), Vector512.Load(x + j), s0);
                s1 = Vector512.FusedMultiplyAdd(Stream(a + j + W), Vector512.Load(x + j + W), s1);
                s2 = Vector512.FusedMultiplyAdd(Stream(a + j + 2 * W), Vector512.Load(x + j + 2 * W), s2);
                s3 = Vector512.FusedMultiplyAdd(Stream(a + j + 3 * W), Vector512.Load(x + j + 3 * W), s3);
                s4 = Vector512.FusedMultiplyAdd(Stream(a + j + 4 * W), Vector512.Load(x + j + 4 * W), s4);
                s5 = Vector512.FusedMultiplyAdd(Stream(a + j + 5 * W), Vector512.Load(x + j + 5 * W), s5);
                s6 = Vector512.FusedMultiplyAdd(Stream(a + j + 6 * W), Vector512.Load(x + j + 6 * W), s6);
                s7 = Vector512.FusedMultiplyAdd(Stream(a + j + 7 * W), Vector512.Load(x + j + 7 * W), s7);
            }
            for (; j < k; j += W)
                s0 = Vector512.FusedMultiplyAdd(Stream(a + j), Vector512.Load(x + j), s0);
            y[r] = Vector512.Sum(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
        }
    }

    /// <summary>A non-temporal load of 16 floats from a 64-byte aligned address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Stream(float* p) => Avx512F.LoadAlignedVector512NonTemporal((byte*)p).AsSingle();

    /// <summary>
    /// y[i, r] = w[r, 0..k) · x[i, 0..k) for the m rows of x [m, k] and r in [r0, r1); y is [m, yStride].
    /// Each pair of weight rows is read from memory once and serves all m inputs (four at a time, the
    /// pair staying in L1 between groups), so a few sequences cost little more than one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatMatRows(float* w, float* x, int m, int k, int r0, int r1, float* y, int yStride)
    {
        if (m == 1) { MatVecRows(w, x, k, r0, r1, y); return; }
        int vecEnd = k - k % W;
        int r = r0;
        for (; r + 2 <= r1; r += 2)
        {
            float* a = w + (long)r * k, b = a + k;
            for (int i0 = 0; i0 < m; i0 += 4)
            {
                int n = Math.Min(4, m - i0);
                // Fewer than four inputs left: the spare lanes repeat the first one and are not written back.
                float* x0 = x + (long)i0 * k;
                float* x1 = n > 1 ? x0 + k : x0, x2 = n > 2 ? x0 + 2 * k : x0, x3 = n > 3 ? x0 + 3 * k : x0;
                var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
                var b0 = a0; var b1 = a0; var b2 = a0; var b3 = a0;
                int j = 0;
                for (; j < vecEnd; j += W)
                {
                    var wa = Vector512.Load(a + j); var wb = Vector512.Load(b + j);
                    var v0 = Vector512.Load(x0 + j); var v1 = Vector512.Load(x1 + j);
                    var v2 = Vector512.Load(x2 + j); var v3 = Vector512.Load(x3 + j);
                    a0 = Vector512.FusedMultiplyAdd(wa, v0, a0); b0 = Vector512.FusedMultiplyAdd(wb, v0, b0);
                    a1 = Vector512.FusedMultiplyAdd(wa, v1, a1); b1 = Vector512.FusedMultiplyAdd(wb, v1, b1);
                    a2 = Vector512.FusedMultiplyAdd(wa, v2, a2); b2 = Vector512.FusedMultiplyAdd(wb, v2, b2);
                    a3 = Vector512.FusedMultiplyAdd(wa, v3, a3); b3 = Vector512.FusedMultiplyAdd(wb, v3, b3);
                }
                float sa0 = Vector512.Sum(a0), sa1 = Vector512.Sum(a1), sa2 = Vector512.Sum(a2), sa3 = Vector512.Sum(a3);
                float sb0 = Vector512.Sum(b0), sb1 = Vector512.Sum(b1), sb2 = Vector512.Sum(b2), sb3 = Vector512.Sum(b3);
                for (; j < k; j++)
                {
                    sa0 = MathF.FusedMultiplyAdd(a[j], x0[j], sa0); sb0 = MathF.FusedMultiplyAdd(b[j], x0[j], sb0);
                    sa1 = MathF.FusedMultiplyAdd(a[j], x1[j], sa1); sb1 = MathF.FusedMultiplyAdd(b[j], x1[j], sb1);
                    sa2 = MathF.FusedMultiplyAdd(a[j], x2[j], sa2); sb2 = MathF.FusedMultiplyAdd(b[j], x2[j], sb2);
                    sa3 = MathF.FusedMultiplyAdd(a[j], x3[j], sa3); sb3 = MathF.FusedMultiplyAdd(b[j], x3[j], sb3);
                }
                float* yi = y + (long)i0 * yStride + r;
                yi[0] = sa0; yi[1] = sb0;
                if (n > 1) { yi[yStride] = sa1; yi[yStride + 1] = sb1; }
                if (n > 2) { yi[2L * yStride] = sa2; yi[2L * yStride + 1] = sb2; }
                if (n > 3) { yi[3L * yStride] = sa3; yi[3L * yStride + 1] = sb3; }
            }
        }
        for (; r < r1; r++)
            for (int i = 0; i < m; i++)
                y[(long)i * yStride + r] = Dot(w + (long)r * k, x + (long)i * k, k);
    }

    /// <summary>
    /// y = w @ x for a contiguous fp32 CPU matrix w [R, K] and vector x [K], the rows shared over
    /// <paramref name="team"/> as <see cref="MatMat"/> shares them (the tensor-level entry the bench's
    /// bandwidth reading uses).
    /// </summary>
    public static void MatVec(TorchSharp.torch.Tensor w, TorchSharp.torch.Tensor x, TorchSharp.torch.Tensor y, CpuTeam team)
    {
        if (w.dim() != 2 || x.dim() != 1 || y.dim() != 1 || w.shape[1] != x.shape[0] || w.shape[0] != y.shape[0])
            throw new ArgumentException($"MatVec needs w [R, K], x [K], y [R]; got [{string.Join(", ", w.shape)}], [{string.Join(", ", x.shape)}], [{string.Join(", ", y.shape)}]");
        MatMat(team, Pointer(w), Pointer(x), 1, (int)w.shape[1], (int)w.shape[0], Pointer(y));
    }

    /// <summary>
    /// y[i, r] = w[r, :] · x[i, :] for all n rows of w [n, k] and the m rows of x [m, k]; y is [m, n].
    /// The weight rows are shared over the team as <see cref="RowSplit"/> cuts them (<see cref="MatMatRows"/>
    /// for each piece). <paramref name="epilogue"/>(first, end), when given, runs on the same thread right
    /// after a piece's outputs y[:, first..end) are written: per-output work (bias, activation, residual)
    /// then costs no separate pass and is shared like the product.
    /// </summary>
    public static void MatMat(CpuTeam team, float* w, float* x, int m, int k, int n, float* y, RowEpilogue? epilogue = null)
    {
        var split = new RowSplit(n, team.Size);
        team.For(split.Chunks, c =>
        {
            var (first, end) = split[c];
            if (first >= end) return;
            MatMatRows(w, x, m, k, first, end, y, n);
            epilogue?.Invoke(first, end);
        });
    }

    /// <summary>The address of a contiguous fp32 CPU tensor's first element.</summary>
    public static float* Pointer(TorchSharp.torch.Tensor t)
    {
        if (t.device_type != TorchSharp.DeviceType.CPU || t.dtype != TorchSharp.torch.ScalarType.Float32 || !t.is_contiguous())
            throw new ArgumentException($"CPU kernels need contiguous float32 CPU tensors, not {t.dtype} on {t.device}{(t.is_contiguous() ? "" : " (strided)")}");
        return (float*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(t.bytes));
    }

    /// <summary>
    /// One attention head over s cached positions: scores[j] = q · keys[j] · scale, softmax, then
    /// output = Σ_j scores[j] values[j]. keys and values are [s, d] row-major; scores has room for s floats;
    /// allowed (s bytes, or null for all) marks the positions the query may see (at least one must be).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttendHead(float* q, float* keys, float* values, int s, int d, float scale, float* scores, float* output,
                                  byte* allowed = null)
    {
        if (d % W == 0)
        {
            // Four positions at a time: four independent FMA chains instead of one.
            int j = 0;
            for (; j + 4 <= s; j += 4)
            {
                float* k0 = keys + (long)j * d, k1 = k0 + d, k2 = k1 + d, k3 = k2 + d;
                var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
                for (int i = 0; i < d; i += W)
                {
                    var qv = Vector512.Load(q + i);
                    a0 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k0 + i), a0);
                    a1 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k1 + i), a1);
                    a2 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k2 + i), a2);
                    a3 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k3 + i), a3);
                }
                scores[j] = Vector512.Sum(a0) * scale; scores[j + 1] = Vector512.Sum(a1) * scale;
                scores[j + 2] = Vector512.Sum(a2) * scale; scores[j + 3] = Vector512.Sum(a3) * scale;
            }
            for (; j < s; j++)
            {
                float* key = keys + (long)j * d;
                var acc = Vector512<float>.Zero;
                for (int i = 0; i < d; i += W) acc = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Vector512.Load(key + i), acc);
                scores[j] = Vector512.Sum(acc) * scale;
            }
        }
        else
            for (int j = 0; j < s; j++) scores[j] = Dot(q, keys + (long)j * d, d) * scale;
        if (allowed is not null)   // padding: a position the row may not see gets no weight
            for (int j = 0; j < s; j++) if (allowed[j] == 0) scores[j] = float.NegativeInfinity;
        Softmax(scores, s);
        new Span<float>(output, d).Clear();
        if (d % W == 0)
        {
            for (int i = 0; i < d; i += W)
            {
                // Four positions at a time into four accumulators, summed at the end.
                var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
                float* v = values + i;
                int j = 0;
                for (; j + 4 <= s; j += 4, v += 4L * d)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(v), Vector512.Create(scores[j]), a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(v + d), Vector512.Create(scores[j + 1]), a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 2 * d), Vector512.Create(scores[j + 2]), a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(v + 3 * d), Vector512.Create(scores[j + 3]), a3);
                }
                for (; j < s; j++, v += d) a0 = Vector512.FusedMultiplyAdd(Vector512.Load(v), Vector512.Create(scores[j]), a0);
                ((a0 + a1) + (a2 + a3)).Store(output + i);
            }
        }
        else
            for (int j = 0; j < s; j++) AddScaled(values + (long)j * d, scores[j], d, output);
    }

    /// <summary>a · b over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(float* a, float* b, int n) =>
        TensorPrimitives.Dot(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n));

    /// <summary>y = (x - mean) / sqrt(var + eps) * gamma + beta over n floats (biased variance, as LayerNorm).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNorm(float* x, float* gamma, float* beta, float eps, int n, float* y)
    {
        var xs = new ReadOnlySpan<float>(x, n);
        float mean = TensorPrimitives.Sum(xs) / n;
        var ys = new Span<float>(y, n);
        TensorPrimitives.Subtract(xs, mean, ys);                       // y = x - mean
        float variance = TensorPrimitives.SumOfSquares(ys) / n;
        float rstd = 1f / MathF.Sqrt(variance + eps);
        TensorPrimitives.Multiply(ys, rstd, ys);
        TensorPrimitives.FusedMultiplyAdd(ys, new ReadOnlySpan<float>(gamma, n), new ReadOnlySpan<float>(beta, n), ys);
    }

    /// <summary>x = 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³))) in place: GPT-2's "gelu_new".</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GeluTanh(float* x, int n, float* scratch)
    {
        var xs = new Span<float>(x, n);
        var u = new Span<float>(scratch, n);
        const float c = 0.7978845608028654f;   // sqrt(2/π)
        TensorPrimitives.Multiply(xs, xs, u);                           // x²
        TensorPrimitives.Multiply(u, 0.044715f * c, u);
        TensorPrimitives.Add(u, c, u);                                  // c (1 + 0.044715 x²)
        TensorPrimitives.Multiply(u, xs, u);                            // c (x + 0.044715 x³)
        TensorPrimitives.Tanh(u, u);
        TensorPrimitives.Add(u, 1f, u);
        TensorPrimitives.Multiply(u, 0.5f, u);                          // (1 + tanh) / 2
        TensorPrimitives.Multiply(xs, u, xs);
    }

    /// <summary>x = max(x, 0) in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu(float* x, int n)
    {
        var xs = new Span<float>(x, n);
        TensorPrimitives.Max(xs, 0f, xs);
    }

    /// <summary>x = softmax(x) in place, shifted by the maximum so it cannot overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(float* x, int n)
    {
        var xs = new Span<float>(x, n);
        float max = TensorPrimitives.Max(xs);
        TensorPrimitives.Subtract(xs, max, xs);
        TensorPrimitives.Exp(xs, xs);
        TensorPrimitives.Divide(xs, TensorPrimitives.Sum(xs), xs);
    }

    /// <summary>y += a · x over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(float* x, float a, int n, float* y)
    {
        var ys = new Span<float>(y, n);
        TensorPrimitives.FusedMultiplyAdd(new ReadOnlySpan<float>(x, n), a, ys, ys);
    }

    /// <summary>y = a + b over n floats (y may be a or b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(float* a, float* b, int n, float* y) =>
        TensorPrimitives.Add(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n), new Span<float>(y, n));
}
