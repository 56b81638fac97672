using System.Diagnostics;
using GanBertBots.Host.Cli;
using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Host.Bench;

/// <summary>
/// <c>bench detect</c>: texts per second of the detector's forward pass (encoder + GAN-BERT head,
/// inference mode) at batch 1, 32 and 128, for BERT-base with RANDOM weights (speed does not depend
/// on the values) and for the small backbone, beside the fp32 matmul rate measured in the same run.
/// </summary>
public sealed class DetectBenchmark : IBenchmark
{
    public string Name => "detect";
    public string Summary => "detector texts/s at batch 1/32/128 (BERT-base random weights, small backbone) vs the matmul bound";
    public string Usage => """
        [--tokens 64]            tokens per text
        [--batches 1,32,128]     batch sizes
        [--seconds 2]            time per measurement
        [--threads N]            torch threads (default: torch's)
        [--device auto] [--dtype auto]
        """;

    public async Task<int> RunAsync(CliArgs a, CliContext context)
    {
        int tokens = a.GetInt("tokens", 64);
        var batches = (a.Get("batches") ?? "1,32,128").Split(',').Select(int.Parse).ToArray();
        double seconds = a.GetDouble("seconds", 2.0);
        var placement = TorchPlacement.Resolve(a.Get("device") ?? "auto", a.Get("dtype") ?? "auto");
        if (a.GetIntOrNull("threads") is { } threads) set_num_threads(threads);
        a.RejectUnknown();

        // The bound is measured before and after the models, and the higher rate kept: on a shared
        // machine one short window can be unlucky, and a low bound would flatter the ratios.
        double matmulBefore = MatmulGflops(placement, seconds);
        var w = context.Out;
        await w.WriteLineAsync($"device {placement}, torch threads {get_num_threads()}, {tokens} tokens per text");
        var rows = new List<(string Label, int Batch, double Rate, double Flops)>();
        foreach (var (label, config) in new[]
                 {
                     ("BERT-base (random weights)", BertConfig.BertBase),
                     ("small backbone", BertConfig.Small(30522, 256)),
                 })
        {
            manual_seed(0);
            using var network = new GanBertNetwork(new BertEncoder(config), Labels.Default.Classes.Count);
            network.to(placement.Device, placement.DType);
            network.eval();
            double flopsPerText = FlopsPerText(config, tokens, Labels.Default.Classes.Count);
            foreach (int batch in batches)
                rows.Add((label, batch, TextsPerSecond(network, config, batch, tokens, placement, seconds), flopsPerText));
        }
        double matmulAfter = MatmulGflops(placement, seconds);
        double matmul = Math.Max(matmulBefore, matmulAfter);
        await w.WriteLineAsync($"matmul bound (measured in this run): {matmul:F1} GFLOP/s (before {matmulBefore:F1}, after {matmulAfter:F1})");
        await w.WriteLineAsync();
        await w.WriteLineAsync($"{"model",-32} {"batch",5} {"texts/s",10} {"GFLOP/text",11} {"GFLOP/s",9} {"of bound",9}");
        foreach (var (label, batch, rate, flops) in rows)
        {
            double gflops = rate * flops / 1e9;
            await w.WriteLineAsync($"{label,-32} {batch,5} {rate,10:F1} {flops / 1e9,11:F3} {gflops,9:F1} {gflops / matmul,9:P0}");
        }
        return 0;
    }

    /// <summary>Multiply-adds of the linear layers (2 FLOPs each) plus attention's two T×T products, per text.</summary>
    static double FlopsPerText(BertConfig c, int t, int classes)
    {
        double h = c.HiddenSize, i = c.IntermediateSize;
        double perLayer = 2 * t * (4 * h * h + 2 * h * i) + 2 * 2 * (double)t * t * h;
        double head = 2 * (h * h + h * (classes + 1)) + (c.Pooling == Pooling.Pooler ? 2 * h * h : 0);
        return c.Layers * perLayer + head;
    }

    static double TextsPerSecond(GanBertNetwork network, BertConfig config, int batch, int tokens, TorchPlacement placement, double seconds)
    {
        using var mode = inference_mode();
        using var ids = randint(1000, config.VocabSize, new long[] { batch, tokens }, dtype: ScalarType.Int64, device: placement.Device);
        using var mask = ones(new long[] { batch, tokens }, dtype: ScalarType.Int64, device: placement.Device);
        void Once()
        {
            using var scope = NewDisposeScope();
            var (_, logits) = network.forward(ids, mask);
            logits.cpu(); // wait for the device
        }
        Once(); // warm-up
        var watch = Stopwatch.StartNew();
        int runs = 0;
        do { Once(); runs++; } while (watch.Elapsed.TotalSeconds < seconds);
        return runs * batch / watch.Elapsed.TotalSeconds;
    }

    static double MatmulGflops(TorchPlacement placement, double seconds) =>
        placement.Device.type == DeviceType.CPU
            ? MachineBounds.Measure(bandwidthBytes: 64L << 20, matmulSize: 1024).MatmulFlopsPerSecond / 1e9
            : DeviceMatmulGflops(placement, seconds);

    static double DeviceMatmulGflops(TorchPlacement placement, double seconds)
    {
        using var mode = inference_mode();
        const int n = 4096;
        using var x = randn(new long[] { n, n }, dtype: placement.DType, device: placement.Device);
        using var y = randn(new long[] { n, n }, dtype: placement.DType, device: placement.Device);
        void Once() { using var z = x.matmul(y); z.sum().cpu().Dispose(); }
        Once();
        var watch = Stopwatch.StartNew();
        int runs = 0;
        do { Once(); runs++; } while (watch.Elapsed.TotalSeconds < seconds);
        return runs * 2.0 * n * n * n / watch.Elapsed.TotalSeconds / 1e9;
    }
}
