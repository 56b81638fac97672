using System.Diagnostics;
using GanBertBots.Host.Cli;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Host.Bench;

/// <summary>
/// <c>bench generate</c>: decoding speed of GPT-2 small at several batch sizes against this
/// machine's bounds, and resident-memory growth over many generations (leaked tensors show there).
/// </summary>
public sealed class GenerateBenchmark : IBenchmark
{
    public string Name => "generate";
    public string Summary => "GPT-2 decoding: ms/token and tokens/s at batch 1, 8, 32 vs bandwidth and matmul bounds; memory growth";
    public string Usage => """
        [--model DIR]            a GPT-2 checkpoint (default: GPT-2 small, 124M, random weights: timing only)
        [--batches 1,8,32]       batch sizes
        [--prompt-tokens 32]     prompt length
        [--new-tokens 32]        tokens generated per run
        [--leak-generations 1000] generations for the memory check (0: skip)
        [--threads N]            torch CPU threads (default: libtorch's choice); 1 gives steadier figures on a busy machine
        [--quick]                fewer tokens and 200 generations (a smoke run)
        """;

    /// <summary>One timed run: median step, median per-step bandwidth bound (bytes/s), median per-step share of it, and the readings.</summary>
    readonly record struct RunFigures(double StepSeconds, double Bandwidth, double BandwidthShare, Readings Simd, Readings Copy);

    /// <summary>A run's bandwidth readings of one kind, bytes per second.</summary>
    readonly record struct Readings(double Median, double Best)
    {
        public override string ToString() => $"{Median / 1e9:F1} / {Best / 1e9:F1} GB/s";
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    public Task<int> RunAsync(CliArgs a, CliContext context)
    {
        var w = context.Out;
        string? modelDir = a.Get("model");
        bool quick = a.Flag("quick");
        int[] batches = (a.Get("batches") ?? "1,8,32").Split(',').Select(int.Parse).ToArray();
        int promptTokens = a.GetInt("prompt-tokens", quick ? 16 : 32);
        int newTokens = a.GetInt("new-tokens", quick ? 8 : 32);
        int leakRuns = a.GetInt("leak-generations", quick ? 200 : 1000);
        int? threads = a.GetIntOrNull("threads");
        a.RejectUnknown();
        if (threads is int t) set_num_threads(t);
        if (newTokens < 2) throw new CliUsageException("--new-tokens must be at least 2");

        w.WriteLine("Measuring this machine's bounds...");
        var bounds = MachineBounds.Measure();
        w.WriteLine(bounds.ToString());

        manual_seed(0);
        using var model = modelDir is null ? new Gpt2LMHeadModel(Gpt2Config.Small) : Gpt2Checkpoint.Load(modelDir);
        model.eval();
        string label = modelDir is null ? "GPT-2 small 124M, random weights (timing only)" : modelDir;
        var cfg = model.Config;
        long paramBytes = model.ParameterBytes;
        var weights = model.Weights();
        // A decoding step reads every weight once, except the position table (one row); wte is read whole as the head.
        long bytesPerStep = paramBytes - weights.PositionEmbedding.numel() * 4;
        long nonEmbedding = model.parameters().Sum(p => p.numel()) - weights.TokenEmbedding.numel() - weights.PositionEmbedding.numel();
        long headParams = weights.Head.numel();
        w.WriteLine($"Model: {label}; {paramBytes / 1e6:F0} MB of fp32 weights; prompt {promptTokens} tokens, {newTokens} new tokens, greedy.");
        w.WriteLine();

        // One thread team for the decoder and the bandwidth readings between its steps (see BandwidthProbe), owned here.
        using var team = new CpuTeam(get_num_threads());
        using var generator = new Gpt2Generator(model, team: team);
        var rng = new Random(1);
        int[][] Prompts(int n) => Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, promptTokens).Select(_ => rng.Next(cfg.VocabSize)).ToArray()).ToArray();
        // Bandwidth is read between decoding steps, and each step is judged against the better of the two readings
        // around it: on a shared machine the bandwidth can swing widely within a run (docs/decoding.md), so a bound
        // read before and after a whole run (or the run's single best reading) says little about a given step. After every step (in row 0's token
        // callback, outside the step's timing) come a copy reading, an untimed flush of the lines the copy dirtied,
        // and a SIMD mat-vec reading, all by the decoder's own team (libtorch's OpenMP workers spin on the cores for a
        // while after a parallel op) on a pool thread (so the decoding thread's settings stay as they are); so neither the
        // mat-vec nor the next step pays for the copy's write-backs. A run's figure is the median over its steps
        // (the host stalls single steps or readings 2-4x at random).
        var probe = new BandwidthProbe(team);   // freed before the memory check, so its 768 MB do not dilute the growth
        RunFigures InterleavedRun(int[][] prompts, GenerationOptions o)
        {
            var sw = Stopwatch.StartNew();
            var steps = new List<double>();
            var simdReadings = new List<double>();
            var copyReadings = new List<double>();
            double lastExit = double.NaN;
            generator.Generate(prompts, o, onToken: t =>
            {
                if (t.Row != 0) return;
                double enter = sw.Elapsed.TotalSeconds;
                if (!double.IsNaN(lastExit)) steps.Add(enter - lastExit);
                var (copy, simd) = Task.Run(() => { double c = probe.SimdCopy(); probe.Flush(); return (c, probe.SimdMatVec()); }).GetAwaiter().GetResult();
                copyReadings.Add(probe.Bytes / copy);
                simdReadings.Add(probe.Bytes / simd);
                lastExit = sw.Elapsed.TotalSeconds;
            });
            // Step i ran between readings i and i + 1; its bound is the better way at the better of the two.
            var local = steps.Select((_, i) => Math.Max(Math.Max(simdReadings[i], copyReadings[i]), Math.Max(simdReadings[i + 1], copyReadings[i + 1]))).ToList();
            var ratios = steps.Select((step, i) => bytesPerStep / local[i] / step).ToList();
            return new RunFigures(Median(steps), Median(local), Median(ratios),
                new Readings(Median(simdReadings), simdReadings.Max()), new Readings(Median(copyReadings), copyReadings.Max()));
        }
        var greedy = new GenerationOptions { Temperature = 0, MaxNewTokens = newTokens, StopAtEndOfText = false };
        var tweetPreset = TweetComposer.DefaultOptions with { MaxNewTokens = newTokens, StopAtEndOfText = false, Seed = 1 };

        // Each row: the run with the median ratio (by the row's own target) of its repetitions. Batches are judged
        // against the matmul rate, which is read before and after each run (too slow to read between steps).
        int reps = quick ? 1 : 5;
        var rows = batches.Select(b => (Label: b.ToString(), Batch: b, Options: greedy)).ToList();
        if (batches.Contains(1)) rows.Insert(rows.FindIndex(r => r.Batch == 1) + 1, ("1, tweet preset", 1, tweetPreset));
        double bestBandwidth = bounds.BandwidthBytesPerSecond;
        var readingNotes = new List<string>();
        w.WriteLine("| batch | ms/token step | tokens/s | bandwidth bound ms | % of bandwidth bound | GFLOP/s | % of matmul bound |");
        w.WriteLine("|------:|--------------:|---------:|-------------------:|---------------------:|--------:|------------------:|");
        foreach (var (rowLabel, batch, options) in rows)
        {
            var prompts = Prompts(batch);
            InterleavedRun(prompts, options);                           // warm-up (also lets the JIT optimise the decoding loop)
            int matmulSize = batch > 1 ? 2048 : 0;
            var runs = new List<(RunFigures Figures, double Flops)>();
            var before = batch > 1 ? MachineBounds.Measure(bandwidthBytes: 0, matmulSize: matmulSize, repeats: 3) : null;
            for (int rep = 0; rep < reps; rep++)
            {
                var figures = InterleavedRun(prompts, options);
                double rate = bounds.MatmulFlopsPerSecond;
                if (before is not null)
                {
                    var after = MachineBounds.Measure(bandwidthBytes: 0, matmulSize: matmulSize, repeats: 3);
                    rate = Math.Max(before.MatmulFlopsPerSecond, after.MatmulFlopsPerSecond);
                    before = after;
                }
                runs.Add((figures, rate));
                bestBandwidth = Math.Max(bestBandwidth, Math.Max(figures.Simd.Best, figures.Copy.Best));
            }
            int contextLength = promptTokens + newTokens / 2;
            double flops = batch * (2.0 * (nonEmbedding + headParams) + 4.0 * cfg.Layers * contextLength * cfg.Embedding);
            var (run, flopsRead) = runs
                .OrderBy(r => batch == 1 ? r.Figures.BandwidthShare : flops / r.Figures.StepSeconds / r.Flops)
                .ElementAt(runs.Count / 2);
            double stepMs = run.StepSeconds * 1000;
            double boundMs = bytesPerStep / run.Bandwidth * 1000;
            readingNotes.Add($"{rowLabel}: SIMD mat-vec {run.Simd}, copy {run.Copy}");
            w.WriteLine($"| {rowLabel,5} | {stepMs,13:F2} | {batch / run.StepSeconds,8:F1} | {boundMs,18:F2} | {run.BandwidthShare * 100,19:F0}% | " +
                        $"{flops / run.StepSeconds / 1e9,7:F1} | {flops / run.StepSeconds / flopsRead * 100,16:F0}% |");
        }
        w.WriteLine();
        w.WriteLine($"bandwidth bound = weight bytes read per step / the better of the two readings (copy or SIMD mat-vec) taken just before and after that step; ms/token, bound ms and % are each the median over the run's steps (batch 1 target: >= 80%);");
        w.WriteLine($"readings of each row's median run (median / best): {string.Join("; ", readingNotes)}; best in this whole benchmark {bestBandwidth / 1e9:F2} GB/s;");
        w.WriteLine($"each row: the median of {reps} runs by its target's ratio; greedy unless marked (tweet preset: temperature {tweetPreset.Temperature}, top-k {tweetPreset.TopK}, top-p {tweetPreset.TopP}, repetition {tweetPreset.RepetitionPenalty});");
        w.WriteLine("matmul bound = model FLOPs per step / the better fp32 matmul rate read before and after that run (batch 32 target: >= 50%).");
        probe.Dispose();

        if (leakRuns > 0)
        {
            w.WriteLine();
            var prompt = Prompts(1);
            var o = new GenerationOptions { Temperature = 0.8, TopK = 40, MaxNewTokens = 2, StopAtEndOfText = false, Seed = 1 };
            for (int i = 0; i < 20; i++) generator.Generate(prompt, o);
            GC.Collect(); GC.WaitForPendingFinalizers();
            long before = Process.GetCurrentProcess().WorkingSet64;
            for (int i = 0; i < leakRuns; i++) generator.Generate(prompt, o with { Seed = i });
            GC.Collect(); GC.WaitForPendingFinalizers();
            long after = Process.GetCurrentProcess().WorkingSet64;
            double growth = (after - before) * 100.0 / before;
            w.WriteLine($"Resident memory over {leakRuns} generations (sampling, batch 1): {before / 1e6:F0} MB -> {after / 1e6:F0} MB, growth {growth:F2}% (target < 5%).");
        }
        return Task.FromResult(0);
    }
}
