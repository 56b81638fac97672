using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Runtime;

/// <summary>The SIMD kernels against libtorch on sizes with and without vector tails.</summary>
public unsafe class CpuKernelsTests
{
    static void AssertClose(Tensor expected, Tensor actual, double relative = 1e-5)
    {
        double scale = Math.Max(1, expected.abs().max().item<float>());
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= relative * scale, $"max difference {diff:E3} (values up to {scale:F2})");
    }

    static float* P(Tensor t) => CpuKernels.Pointer(t);

    /// <summary>w [rows, k] and x [m, k] drawn from <paramref name="seed"/>; y [m, rows] all NaN, so an output never written shows.</summary>
    static (Tensor W, Tensor X, Tensor Y) Operands(int m, int rows, int k, int seed)
    {
        var g = new Generator((ulong)seed);
        var w = randn(new long[] { rows, k }, generator: g);
        var x = randn(new long[] { m, k }, generator: g);
        return (w, x, full(m, rows, float.NaN));
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(33, 64)]
    [InlineData(1001, 771)]
    public void Matrix_vector_product_matches_torch(int rows, int k)
    {
        using var scope = NewDisposeScope();
        var (w, xRow, yRow) = Operands(1, rows, k, seed: 2);
        var (x, y) = (xRow.view(-1), yRow.view(-1));
        using var team = new CpuTeam(2);
        CpuKernels.MatVec(w, x, y, team);   // every row written, pieces meet exactly
        AssertClose(w.mv(x), y);
    }

    [Theory]
    [InlineData(0)]    // 64-byte aligned rows: the streaming path where AVX-512 is present
    [InlineData(1)]    // every row off the 64-byte grid: plain loads
    public void Matrix_vector_rows_match_torch_aligned_or_not(int offsetFloats)
    {
        using var scope = NewDisposeScope();
        const int rows = 37, k = 768 + 3 * 16;   // eight-accumulator blocks plus a 16-float remainder
        var g = new Generator(7);
        var storage = randn(new long[] { rows * k + 16 }, generator: g);
        var x = randn(new long[] { k }, generator: g);
        float* w = P(storage) + offsetFloats;
        Assert.Equal(offsetFloats == 0, ((nint)w & 63) == 0);   // libtorch aligns its buffers to 64 bytes
        var y = full(rows, float.NaN);
        CpuKernels.MatVecRows(w, P(x), k, 0, rows, P(y));
        var expected = storage.narrow(0, offsetFloats, rows * k).view(rows, k).mv(x);
        AssertClose(expected, y);
    }

    [Theory]
    [InlineData(1, 1001, 64)]
    [InlineData(3, 515, 40)]
    public void Shared_product_runs_each_epilogue_once_over_outputs_already_written(int m, int rows, int k)
    {
        using var scope = NewDisposeScope();
        var (w, x, y) = Operands(m, rows, k, seed: 6);
        var expected = x.matmul(w.t());
        float* py = P(y);
        var visits = new int[rows];
        int stale = 0;
        using var team = new CpuTeam(2);
        CpuKernels.MatMat(team, P(w), P(x), m, k, rows, py, (first, end) =>
        {
            for (int r = first; r < end; r++)
            {
                Interlocked.Increment(ref visits[r]);
                for (int i = 0; i < m; i++)
                {
                    if (float.IsNaN(py[(long)i * rows + r])) Interlocked.Increment(ref stale);
                    py[(long)i * rows + r] *= 2;   // the epilogue's own work lands in y
                }
            }
        });
        Assert.All(visits, v => Assert.Equal(1, v));
        Assert.Equal(0, stale);
        AssertClose(expected * 2, y);
    }

    [Theory]
    [InlineData(1, 33, 64)]
    [InlineData(3, 7, 19)]
    [InlineData(6, 101, 80)]
    [InlineData(8, 64, 768)]
    public void Matrix_times_several_vectors_matches_torch(int m, int rows, int k)
    {
        using var scope = NewDisposeScope();
        var (w, x, y) = Operands(m, rows, k, seed: 5);
        int cut = rows / 2 + 1;   // two bands, the first one odd-sized
        CpuKernels.MatMatRows(P(w), P(x), m, k, 0, cut, P(y), rows);
        CpuKernels.MatMatRows(P(w), P(x), m, k, cut, rows, P(y), rows);
        AssertClose(x.matmul(w.t()), y);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(768)]
    public void Layer_norm_gelu_and_softmax_match_torch(int n)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var x = randn(new long[] { n }, generator: g) * 3; var gamma = randn(new long[] { n }, generator: g); var beta = randn(new long[] { n }, generator: g);
        var y = empty(n);
        CpuKernels.LayerNorm(P(x), P(gamma), P(beta), 1e-5f, n, P(y));
        AssertClose(nn.functional.layer_norm(x, new long[] { n }, gamma, beta, 1e-5), y);

        var h = x.clone(); var scratch = empty(n);
        CpuKernels.GeluTanh(P(h), n, P(scratch));
        AssertClose(nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh), h);

        var s = x.clone();
        CpuKernels.Softmax(P(s), n);
        AssertClose(x.softmax(0), s);
    }

    [Theory]
    [InlineData(1, 64)]
    [InlineData(37, 64)]
    [InlineData(20, 6)]
    public void One_attention_head_matches_torch(int s, int d)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var q = randn(new long[] { d }, generator: g); var keys = randn(new long[] { s, d }, generator: g); var values = randn(new long[] { s, d }, generator: g);
        var scores = empty(s); var output = empty(d);
        float scale = 1f / MathF.Sqrt(d);
        CpuKernels.AttendHead(P(q), P(keys), P(values), s, d, scale, P(scores), P(output));
        var expectedWeights = (keys.mv(q) * scale).softmax(0);
        AssertClose(expectedWeights, scores);
        AssertClose(expectedWeights.matmul(values), output);
    }

    [Fact]
    public void Pointer_refuses_what_the_kernels_cannot_read()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => { CpuKernels.Pointer(zeros(3, 4).t()); });
        Assert.Throws<ArgumentException>(() => { CpuKernels.Pointer(zeros(3, dtype: ScalarType.Float64)); });
        using var team = new CpuTeam(1);
        Assert.Throws<ArgumentException>(() => CpuKernels.MatVec(zeros(3, 4), zeros(5), zeros(3), team));
    }
}
