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
/// anything faster. On this project's VM libtorch's BLAS streams at about a third of what the
/// memory delivers, so its figure alone is no bound.
/// </para>
/// </summary>
public sealed record MachineBounds(double BandwidthBytesPerSecond, double MatmulFlopsPerSecond, int Threads)
{
    /// <summary>Each bandwidth reading, bytes per second: libtorch mat-vec, SIMD mat-vec, copy.</summary>
    public (double Torch, double Simd, double Copy) Readings { get; init; }

    public static MachineBounds Measure(long bandwidthBytes = 512L << 20, int matmulSize = 2048, int repeats = 5)
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        // Bandwidth: y = W x with W of bandwidthBytes; best of several runs for each way.
        long cols = 4096, rows = bandwidthBytes / 4 / cols;
        var w = randn(rows, cols);
        var x = randn(cols, 1);
        var y = empty(rows);
        var team = CpuTeam.Shared(get_num_threads());
        double torchBest = Best(repeats, () => w.matmul(x).Dispose());
        double simdBest = Best(repeats, () => CpuKernels.MatVec(w, x.view(-1), y, team));
        var copy = empty_like(w);
        double copyBest = Best(repeats, () => copy.copy_(w));
        copy.Dispose();
        double bytes = rows * cols * 4.0;
        var readings = (Torch: bytes / torchBest, Simd: bytes / simdBest, Copy: 2 * bytes / copyBest);
        double bandwidth = Math.Max(readings.Torch, Math.Max(readings.Simd, readings.Copy));

        // Matmul rate: C = A B, n x n, 2 n^3 flops (matmulSize 0: bandwidth only).
        double flops = double.NaN;
        if (matmulSize > 0)
        {
            var a = randn(matmulSize, matmulSize);
            var b = randn(matmulSize, matmulSize);
            double best = Best(repeats, () => a.matmul(b).Dispose());
            flops = 2.0 * matmulSize * matmulSize * (double)matmulSize / best;
        }
        return new MachineBounds(bandwidth, flops, get_num_threads()) { Readings = readings };
    }

    /// <summary>Fastest of <paramref name="repeats"/> timed runs, after one untimed warm-up (page-in, thread start).</summary>
    static double Best(int repeats, Action run)
    {
        run();
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    public override string ToString() =>
        $"memory bandwidth {BandwidthBytesPerSecond / 1e9:F2} GB/s (best of: libtorch mat-vec {Readings.Torch / 1e9:F1}, " +
        $"SIMD mat-vec {Readings.Simd / 1e9:F1}, copy {Readings.Copy / 1e9:F1}), fp32 matmul {MatmulFlopsPerSecond / 1e9:F1} GFLOP/s, {Threads} torch threads";
}
