using System.Diagnostics;
using GanBertBots.Host.Cli;
using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.ZeroShot;
using GanBertBots.Models.Runtime;
using GanBertBots.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Host.Bench;

/// <summary>
/// <c>bench detect</c>: texts per second of the detector's forward pass (encoder + GAN-BERT head,
/// inference mode) at batch 1, 32 and 128 and 64 and 128 tokens: for the pretrained all-MiniLM-L6-v2
/// (its real weights, when its directory is found), BERT-base shapes with RANDOM weights (speed does
/// not depend on the values) and the small backbone, beside the fp32 matmul rate measured in the same run; then the
/// zero-shot scorer (<see cref="ZeroShotScorer"/>: one GPT-2 forward, log-softmax, ranks, mean and variance over the
/// vocabulary) at the same batches and lengths, for GPT-2 124M and the from-scratch "small" size (random weights), and
/// what detector + scorer cost together: texts/s, each part's share of the time, and the time against the detector alone.
/// </summary>
public sealed class DetectBenchmark : IBenchmark
{
    public string Name => "detect";
    public string Summary => "detector texts/s at batch 1/32/128, 64/128 tokens (all-MiniLM-L6-v2, BERT-base shapes, small backbone) vs the matmul bound, and with the zero-shot scorer";
    public string Usage => """
        [--tokens 64,128]        tokens per text
        [--encoder DIR]          a pretrained Hugging Face BERT directory (default: the first of models/all-MiniLM-L6-v2 and
                                 ../shared/data/all-MiniLM-L6-v2 that exists; none: that row is left out with a note)
        [--batches 1,32,128]     batch sizes
        [--seconds 2]            time per measurement
        [--threads N]            torch threads (default: torch's)
        [--scorers gpt2,small]   zero-shot scorer sizes beside the detector (none: skip)
        [--device auto] [--dtype auto]
        """;

    public async Task<int> RunAsync(CliArgs a, CliContext context)
    {
        var tokenCounts = (a.Get("tokens") ?? "64,128").Split(',').Select(int.Parse).ToArray();
        string? encoderDir = a.Get("encoder") ?? PretrainedEncoderCandidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "config.json")));
        if (a.Get("encoder") is { } given && !File.Exists(Path.Combine(given, "config.json")))
            throw new CliUsageException($"--encoder {given}: no config.json there (a Hugging Face BERT directory, e.g. from `models pull sentence-transformers/all-MiniLM-L6-v2`)");
        var batches = (a.Get("batches") ?? "1,32,128").Split(',').Select(int.Parse).ToArray();
        double seconds = a.GetDouble("seconds", 2.0);
        var placement = TorchPlacement.Resolve(a.Get("device") ?? "auto", a.Get("dtype") ?? "auto");
        if (a.GetIntOrNull("threads") is { } threads) set_num_threads(threads);
        var scorerSizes = (a.Get("scorers") ?? "gpt2,small").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(x => x != "none").ToArray();
        foreach (var size in scorerSizes)
            if (ScorerConfig(size) is null) throw new CliUsageException($"--scorers: unknown size '{size}' (gpt2, small or none)");
        a.RejectUnknown();

        // The bound is measured before and after the models, and the higher rate kept: on a shared
        // machine one short window can be unlucky, and a low bound would flatter the ratios.
        double matmulBefore = MatmulGflops(placement, seconds);
        var w = context.Out;
        await w.WriteLineAsync($"device {placement}, torch threads {get_num_threads()}, tokens per text {string.Join("/", tokenCounts)}");
        if (encoderDir is null)
            await w.WriteLineAsync("no pretrained encoder found (models/all-MiniLM-L6-v2, ../shared/data/all-MiniLM-L6-v2): its rows are left out; " +
                                   "`ganbertbots models pull sentence-transformers/all-MiniLM-L6-v2` fetches it");
        var rows = new List<(string Label, int Tokens, int Batch, double Rate, double Flops)>();
        var models = new List<(string Label, Func<BertEncoder> Encoder)>();
        if (encoderDir is not null)
            models.Add(($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(encoderDir))} (pretrained)", () => BertWeights.LoadEncoder(encoderDir, placement)));
        models.Add(("BERT-base shapes (random)", () => new BertEncoder(BertConfig.BertBase)));
        models.Add(("small backbone", () => new BertEncoder(BertConfig.Small(30522, 256))));
        foreach (var (label, makeEncoder) in models)
        {
            manual_seed(0);
            var encoder = makeEncoder();
            var config = encoder.Config;
            using var network = new GanBertNetwork(encoder, Labels.Default.Classes.Count);
            network.to(placement.Device, placement.DType);
            network.eval();
            foreach (int tokens in tokenCounts.Where(t => t <= config.MaxPositions))
            {
                double flopsPerText = FlopsPerText(config, tokens, Labels.Default.Classes.Count);
                foreach (int batch in batches)
                    rows.Add((label, tokens, batch, TextsPerSecond(network, config, batch, tokens, placement, seconds), flopsPerText));
            }
        }
        var scorerRows = new List<(string Label, int Tokens, int Batch, double Rate)>();
        foreach (var size in scorerSizes)
        {
            manual_seed(0);
            var (label, config) = ScorerConfig(size)!.Value;
            using var gpt2 = new Gpt2LMHeadModel(config);
            gpt2.to(placement.Device, placement.DType);
            gpt2.eval();
            foreach (int tokens in tokenCounts.Where(t => t <= config.MaxPositions))
                foreach (int batch in batches)
                    scorerRows.Add((label, tokens, batch, ScorerTextsPerSecond(new ZeroShotScorer(gpt2), config.VocabSize, batch, tokens, seconds)));
        }
        double matmulAfter = MatmulGflops(placement, seconds);
        double matmul = Math.Max(matmulBefore, matmulAfter);
        await w.WriteLineAsync($"matmul bound (measured in this run): {matmul:F1} GFLOP/s (before {matmulBefore:F1}, after {matmulAfter:F1})");
        await w.WriteLineAsync();
        await w.WriteLineAsync($"{"model",-32} {"tokens",6} {"batch",5} {"texts/s",10} {"GFLOP/text",11} {"GFLOP/s",9} {"of bound",9}");
        foreach (var (label, tokens, batch, rate, flops) in rows)
        {
            double gflops = rate * flops / 1e9;
            await w.WriteLineAsync($"{label,-32} {tokens,6} {batch,5} {rate,10:F1} {flops / 1e9,11:F3} {gflops,9:F1} {gflops / matmul,9:P0}");
        }
        if (scorerRows.Count == 0) return 0;

        // Detector and scorer run one after the other on the same worker: times add.
        await w.WriteLineAsync();
        await w.WriteLineAsync("zero-shot scorer beside the detector (times add: one worker runs both); 'x detector' = (detector + scorer time) / detector time");
        await w.WriteLineAsync($"{"detector",-28} {"scorer",-26} {"tokens",6} {"batch",5} {"scorer/s",9} {"both/s",8} {"detector",9} {"scorer",7} {"x detector",10}");
        foreach (var (detectorLabel, tokens, batch, detectorRate, _) in rows)
            foreach (var (scorerLabel, _, _, scorerRate) in scorerRows.Where(r => r.Batch == batch && r.Tokens == tokens))
            {
                double detectorTime = 1 / detectorRate, scorerTime = 1 / scorerRate, both = detectorTime + scorerTime;
                await w.WriteLineAsync($"{detectorLabel,-28} {scorerLabel,-26} {tokens,6} {batch,5} {scorerRate,9:F1} {1 / both,8:F1} {detectorTime / both,9:P0} {scorerTime / both,7:P0} {both / detectorTime,10:F2}");
            }
        return 0;
    }

    /// <summary>Where <c>models pull</c> puts MiniLM, then the shared data beside the repository.</summary>
    static readonly string[] PretrainedEncoderCandidates =
        [Path.Combine("models", "all-MiniLM-L6-v2"), Path.Combine("..", "shared", "data", "all-MiniLM-L6-v2")];

    /// <summary>The GPT-2 sizes the scorer is measured at: the public 124M "gpt2", and train-generator's scratch:small.</summary>
    static (string Label, Gpt2Config Config)? ScorerConfig(string size) => size switch
    {
        "gpt2" => ("GPT-2 124M (random)", Gpt2Config.Small),
        "small" => ("scratch:small 4x128", new Gpt2Config { Layers = 4, Embedding = 128, Heads = 4, MaxPositions = 256, VocabSize = 50257, EosTokenId = 50256, BosTokenId = 50256 }),
        _ => null,
    };

    static double ScorerTextsPerSecond(ZeroShotScorer scorer, int vocab, int batch, int tokens, double seconds)
    {
        var rng = new Random(batch);
        var texts = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, tokens).Select(_ => rng.Next(vocab)).ToArray()).ToList();
        scorer.Score(texts); // warm-up
        var watch = Stopwatch.StartNew();
        int runs = 0;
        do { scorer.Score(texts); runs++; } while (watch.Elapsed.TotalSeconds < seconds);
        return runs * batch / watch.Elapsed.TotalSeconds;
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
