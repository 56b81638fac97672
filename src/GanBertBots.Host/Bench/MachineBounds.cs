using System.Diagnostics;
using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Host.Bench;

/// <summary>
/// What this machine can do at best, measured in the same process the models run in:
/// memory bandwidth and the fp32 matrix-multiply rate (a large square matmul).
/// <para>
/// Bandwidth is the best of three ways of streaming a buffer far larger than the caches:
/// libtorch's matrix-vector product, our own SIMD matrix-vector kernel (<see cref="CpuKernels"/>,
/// the one batch-1 decoding uses) over the same matrix, and a large copy (read + written bytes).
/// Taking the best keeps the bound honest: a bound measured with a slow kernel would flatter
/// anything faster, and libtorch's BLAS can stream far below what the memory delivers
/// (docs/decoding.md), so its figure alone is no bound.
/// </para>
/// </summary>
public sealed record MachineBounds(double BandwidthBytesPerSecond, double MatmulFlopsPerSecond, int Threads)
{
    /// <summary>Each bandwidth reading, bytes per second: libtorch mat-vec, SIMD mat-vec, copy (the better of libtorch's and ours).</summary>
    public (double Torch, double Simd, double Copy) Readings { get; init; }

    public static MachineBounds Measure(long bandwidthBytes = 512L << 20, int matmulSize = 2048, int repeats = 5)
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        // Bandwidth: best of several runs for each way of streaming (bandwidthBytes 0: matmul rate only).
        var readings = (Torch: double.NaN, Simd: double.NaN, Copy: double.NaN);
        double bandwidth = double.NaN;
        if (bandwidthBytes > 0)
        {
            using var team = new CpuTeam(get_num_threads());
            using var probe = new BandwidthProbe(team, bandwidthBytes);
            readings = (probe.Bytes / Best(repeats, probe.TorchMatVec), probe.Bytes / Best(repeats, probe.SimdMatVec), probe.Bytes / Math.Min(Best(repeats, probe.TorchCopy), Best(repeats, probe.SimdCopy)));
            bandwidth = Math.Max(readings.Torch, Math.Max(readings.Simd, readings.Copy));
        }

        // Matmul rate: C = A B, n x n, 2 n^3 flops (matmulSize 0: bandwidth only).
        double flops = double.NaN;
        if (matmulSize > 0)
        {
            var a = randn(matmulSize, matmulSize);
            var b = randn(matmulSize, matmulSize);
            double best = Best(repeats, () => Seconds(() => a.matmul(b).Dispose()));
            flops = 2.0 * matmulSize * matmulSize * (double)matmulSize / best;
        }
        return new MachineBounds(bandwidth, flops, get_num_threads()) { Readings = readings };
    }

    /// <summary>Fastest of <paramref name="repeats"/> runs (each returns its seconds), after one untimed warm-up (page-in, thread start).</summary>
    static double Best(int repeats, Func<double> run)
    {
        run();
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++) best = Math.Min(best, run());
        return best;
    }

    /// <summary>The seconds <paramref name="run"/> takes.</summary>
    internal static double Seconds(Action run)
    {
        var sw = Stopwatch.StartNew();
        run();
        return sw.Elapsed.TotalSeconds;
    }

    public override string ToString() =>
        $"memory bandwidth {BandwidthBytesPerSecond / 1e9:F2} GB/s (best of: libtorch mat-vec {Readings.Torch / 1e9:F1}, " +
        $"SIMD mat-vec {Readings.Simd / 1e9:F1}, copy {Readings.Copy / 1e9:F1}), fp32 matmul {MatmulFlopsPerSecond / 1e9:F1} GFLOP/s, {Threads} torch threads";
}

/// <summary>
/// Buffers far larger than the caches, kept for repeated bandwidth readings (allocating them per
/// reading would time the page faults). Each reading streams <see cref="Bytes"/> bytes once and
/// returns its seconds: a matrix-vector product (libtorch's or our SIMD kernel) reads the matrix; a copy
/// reads half of it and writes the other half's worth. Our readings run on a team the caller owns.
/// </summary>
public sealed class BandwidthProbe : IDisposable
{
    const long Cols = 4096;
    readonly Tensor _w, _x, _y, _half, _copy;
    readonly CpuTeam _team;

    public long Bytes { get; }

    /// <param name="team">
    /// The threads our kernels read with; borrowed, not disposed. <c>bench generate</c> passes the generator's
    /// team, so that readings between decoding steps use the threads the steps use, and no second team spins on
    /// the cores the next step needs.
    /// </param>
    /// <param name="bytes">How much each reading streams.</param>
    public BandwidthProbe(CpuTeam team, long bytes = 512L << 20)
    {
        _team = team;
        using var _ = inference_mode();
        long rows = Math.Max(1, bytes / 4 / Cols);
        Bytes = rows * Cols * 4;
        _w = randn(rows, Cols);
        _x = randn(Cols);
        _y = empty(rows);
        _half = _w.narrow(0, 0, rows / 2);
        _copy = empty_like(_half);
        _copy.copy_(_half);   // touch every page before the first timed reading
    }

    public double TorchMatVec() => MachineBounds.Seconds(() => { using var _ = inference_mode(); _w.mv(_x).Dispose(); });

    public double SimdMatVec() => MachineBounds.Seconds(() => CpuKernels.MatVec(_w, _x, _y, _team));

    /// <summary>Bytes/2 read and Bytes/2 written (as STREAM's copy counts them), by libtorch.</summary>
    public double TorchCopy() => MachineBounds.Seconds(() => { using var _ = inference_mode(); _copy.copy_(_half); }) * Bytes / (2.0 * HalfBytes);

    /// <summary>
    /// The same copy by our team, pieces cut as <see cref="RowSplit"/> cuts a product. Between decoding steps
    /// this is the copy to use: libtorch's OpenMP workers spin for a while after a parallel copy, on the cores
    /// the next step needs.
    /// </summary>
    public double SimdCopy()
    {
        var team = _team;
        var split = new RowSplit((int)_half.shape[0], team.Size);
        int rowBytes = (int)Cols * 4;
        return MachineBounds.Seconds(() => team.For(split.Chunks, c =>
        {
            var (first, end) = split[c];
            if (first < end)
                _half.bytes.Slice(first * rowBytes, (end - first) * rowBytes).CopyTo(_copy.bytes.Slice(first * rowBytes, (end - first) * rowBytes));
        })) * Bytes / (2.0 * HalfBytes);
    }

    long HalfBytes => _half.numel() * 4;

    /// <summary>
    /// Reads 128 MB, untimed, so the lines a copy left dirty in the caches are written back now rather than
    /// during whatever is timed next (a mat-vec right after a copy reads measurably slower: docs/decoding.md).
    /// </summary>
    public void Flush()
    {
        long rows = Math.Min(_w.shape[0], (128L << 20) / 4 / Cols);
        using var w = _w.narrow(0, 0, rows);
        using var y = _y.narrow(0, 0, rows);
        CpuKernels.MatVec(w, _x, y, _team);
    }

    public void Dispose()
    {
        foreach (var t in new[] { _copy, _half, _y, _x, _w }) t.Dispose();
    }
}
