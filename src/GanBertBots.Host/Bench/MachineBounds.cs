using System.Diagnostics;
using static TorchSharp.torch;

namespace GanBertBots.Host.Bench;

/// <summary>
/// What this machine can do at best, measured through the same libtorch the models use:
/// memory bandwidth (a matrix-vector product over a matrix far larger than the caches: each
/// weight is read once, which is exactly what a batch-1 decoding step does) and the fp32
/// matrix-multiply rate (a large square matmul).
/// </summary>
public sealed record MachineBounds(double BandwidthBytesPerSecond, double MatmulFlopsPerSecond, int Threads)
{
    public static MachineBounds Measure(long bandwidthBytes = 512L << 20, int matmulSize = 2048, int repeats = 5)
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        // Bandwidth: y = W x with W of bandwidthBytes; best of several runs.
        long cols = 4096, rows = bandwidthBytes / 4 / cols;
        var w = randn(rows, cols);
        var x = randn(cols, 1);
        w.matmul(x);   // warm up (page in, thread pool)
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using var y = w.matmul(x);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        double bandwidth = rows * cols * 4 / best;

        // Matmul rate: C = A B, n x n, 2 n^3 flops (matmulSize 0: bandwidth only).
        if (matmulSize <= 0) return new MachineBounds(bandwidth, double.NaN, get_num_threads());
        var a = randn(matmulSize, matmulSize);
        var b = randn(matmulSize, matmulSize);
        a.matmul(b);
        best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using var c = a.matmul(b);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        double flops = 2.0 * matmulSize * matmulSize * (double)matmulSize / best;
        return new MachineBounds(bandwidth, flops, get_num_threads());
    }

    public override string ToString() =>
        $"memory bandwidth {BandwidthBytesPerSecond / 1e9:F2} GB/s (matrix-vector product), fp32 matmul {MatmulFlopsPerSecond / 1e9:F1} GFLOP/s, {Threads} torch threads";
}
