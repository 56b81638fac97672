using System.Diagnostics;
using GanBertBots.Host.Cli;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
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
        // A decoding step reads every weight once, except the position table (one row); wte is read whole as the head.
        long bytesPerStep = paramBytes - model.wpe.weight!.numel() * 4;
        long nonEmbedding = model.parameters().Sum(p => p.numel()) - model.wte.weight!.numel() - model.wpe.weight!.numel();
        long headParams = model.wte.weight!.numel();
        w.WriteLine($"Model: {label}; {paramBytes / 1e6:F0} MB of fp32 weights; prompt {promptTokens} tokens, {newTokens} new tokens, greedy.");
        w.WriteLine();

        var generator = new Gpt2Generator(model);
        var rng = new Random(1);
        int[][] Prompts(int n) => Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, promptTokens).Select(_ => rng.Next(cfg.VocabSize)).ToArray()).ToArray();
        // Seconds per decoding step: from the first token's report to the last one's, over (tokens - 1)
        // steps, so the prompt's prefill is left out exactly (every row reports each step; row 0 times it).
        var greedy = new GenerationOptions { Temperature = 0, MaxNewTokens = newTokens, StopAtEndOfText = false };
        var tweetPreset = TweetComposer.DefaultOptions with { MaxNewTokens = newTokens, StopAtEndOfText = false, Seed = 1 };
        double StepSeconds(int[][] prompts, GenerationOptions o)
        {
            var sw = Stopwatch.StartNew();
            double first = 0, last = 0;
            int steps = 0;
            generator.Generate(prompts, o, onToken: t =>
            {
                if (t.Row != 0) return;
                if (steps++ == 0) first = sw.Elapsed.TotalSeconds;
                last = sw.Elapsed.TotalSeconds;
            });
            return (last - first) / (steps - 1);
        }

        // This VM's memory bandwidth moves by a third within seconds, so every timed run sits between two
        // bandwidth readings and is judged against the better of them; a row shows the run with the median
        // ratio of its repetitions.
        int reps = quick ? 1 : 5;
        var rows = batches.Select(b => (Label: b.ToString(), Batch: b, Options: greedy)).ToList();
        if (batches.Contains(1)) rows.Insert(rows.FindIndex(r => r.Batch == 1) + 1, ("1, tweet preset", 1, tweetPreset));
        w.WriteLine("| batch | ms/token step | tokens/s | bandwidth bound ms | % of bandwidth bound | GFLOP/s | % of matmul bound |");
        w.WriteLine("|------:|--------------:|---------:|-------------------:|---------------------:|--------:|------------------:|");
        foreach (var (rowLabel, batch, options) in rows)
        {
            var prompts = Prompts(batch);
            StepSeconds(prompts, options);                              // warm-up (also lets the JIT optimise the decoding loop)
            // Batches are judged against the matmul rate, so theirs is read around each run too.
            int matmulSize = batch > 1 ? 2048 : 0;
            var runs = new List<(double Seconds, double Bandwidth, double Flops)>();
            var before = MachineBounds.Measure(matmulSize: matmulSize, repeats: 3);
            for (int rep = 0; rep < reps; rep++)
            {
                double seconds = StepSeconds(prompts, options);
                var after = MachineBounds.Measure(matmulSize: matmulSize, repeats: 3);
                double bandwidth = Math.Max(before.BandwidthBytesPerSecond, after.BandwidthBytesPerSecond);
                double rate = batch > 1 ? Math.Max(before.MatmulFlopsPerSecond, after.MatmulFlopsPerSecond) : bounds.MatmulFlopsPerSecond;
                runs.Add((seconds, bandwidth, rate));
                bounds = bounds with { BandwidthBytesPerSecond = Math.Max(bounds.BandwidthBytesPerSecond, bandwidth) };
                before = after;
            }
            int contextLength = promptTokens + newTokens / 2;
            double flops = batch * (2.0 * (nonEmbedding + headParams) + 4.0 * cfg.Layers * contextLength * cfg.Embedding);
            // The median run by the row's own target: bandwidth at batch 1, matmul rate for batches.
            var (best, bandwidthRead, flopsRead) = runs
                .OrderBy(r => batch == 1 ? bytesPerStep / r.Bandwidth / r.Seconds : flops / r.Seconds / r.Flops)
                .ElementAt(runs.Count / 2);
            double stepMs = best * 1000;
            double tokensPerSecond = batch / best;
            double boundMs = bytesPerStep / bandwidthRead * 1000;
            double gflops = flops / best / 1e9;
            double matmulShare = flops / best / flopsRead;
            w.WriteLine($"| {rowLabel,5} | {stepMs,13:F2} | {tokensPerSecond,8:F1} | {boundMs,18:F2} | {boundMs / stepMs * 100,19:F0}% | {gflops,7:F1} | {matmulShare * 100,16:F0}% |");
        }
        w.WriteLine();
        w.WriteLine($"bandwidth bound = weight bytes read per step / the better bandwidth reading around that run (best in this run {bounds.BandwidthBytesPerSecond / 1e9:F2} GB/s) (batch 1 target: >= 80%);");
        w.WriteLine($"each row: the median of {reps} runs by its target's ratio (batches: the matmul rate read around each run too); greedy unless marked (tweet preset: temperature {tweetPreset.Temperature}, top-k {tweetPreset.TopK}, top-p {tweetPreset.TopP}, repetition {tweetPreset.RepetitionPenalty});");
        w.WriteLine("matmul bound = model FLOPs per step / the better fp32 matmul rate read around that run (batch 32 target: >= 50%).");

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
