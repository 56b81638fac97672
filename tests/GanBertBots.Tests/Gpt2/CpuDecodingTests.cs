using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

/// <summary>
/// The CPU decoding path (<see cref="Gpt2CpuDecoder"/>: SIMD kernels on the weights' memory) against the torch
/// path (<see cref="TorchDecodeStep"/>, the model's forward): two independent implementations of one decoding step,
/// each chosen explicitly.
/// </summary>
public class CpuDecodingTests
{
    public static TheoryData<string> Shapes => new() { "odd", "wide", "relu", "scaled", "untied", "long" };

    static Gpt2Config ConfigFor(string shape) => shape switch
    {
        // dimensions that are not multiples of the 16-float vectors: every kernel's scalar tail runs
        "odd" => TinyGpt2.Config(vocab: 67, layers: 2, embd: 24, heads: 3) with { Inner = 37 },
        // wide enough that matrix products split into several chunks (rows >= 128) and the head into bands
        "wide" => TinyGpt2.Config(vocab: 1000, layers: 2, embd: 128, heads: 4),
        "relu" => TinyGpt2.Config(vocab: 80, layers: 2, embd: 32, heads: 4) with { Activation = "relu" },
        "scaled" => TinyGpt2.Config(vocab: 80, layers: 3, embd: 32, heads: 2) with { ScaleAttnByInverseLayerIdx = true },
        "untied" => TinyGpt2.Config(vocab: 90, layers: 2, embd: 48, heads: 4) with { TieWordEmbeddings = false },
        // a context long enough (s * C >= 16384) that attention heads are shared out over the team
        "long" => TinyGpt2.Config(vocab: 70, layers: 2, embd: 64, heads: 4, positions: 320),
        _ => throw new ArgumentException(shape),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_decoding_step_matches_the_torch_path(string shape)
    {
        var config = ConfigFor(shape);
        using var model = TinyGpt2.Create(config, seed: 77);
        int steps = shape == "long" ? 300 : 24;
        var rng = new Random(5);
        var ids = Enumerable.Range(0, steps + 3).Select(_ => (long)rng.Next(config.VocabSize)).ToArray();
        var prompt = new[] { ids[..3].Select(i => (int)i).ToArray() };
        var feed = ids[3..].Select(id => new[] { id }).ToArray();
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        using var cpu = new Gpt2CpuDecoder();
        var (fast, fastCache) = DecodeBatch(model, prompt, feed, cache => cpu.TryBegin(model, cache)!);
        var (reference, torchCache) = DecodeBatch(model, prompt, feed, cache => new TorchDecodeStep(model, cache));
        Assert.Equal(steps, cpu.Steps);   // the CPU kernels really computed every step
        AssertSameLogits(fast, reference);
        AssertSameCache(fastCache, torchCache, model.Config.Layers);
    }

    [Fact]
    public void The_CPU_step_and_the_torch_step_give_the_same_next_token_logits()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 96, layers: 2, embd: 32, heads: 4), seed: 12);
        var prompts = new[] { new[] { 7, 3, 41, 9, 2 }, new[] { 60, 8 } };   // left-padded batch of two
        var feed = new[] { new long[] { 11, 95 }, new long[] { 0, 33 }, new long[] { 50, 50 } };
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        using var cpu = new Gpt2CpuDecoder();
        var (fast, _) = DecodeBatch(model, prompts, feed, cache => cpu.TryBegin(model, cache)!);
        var (reference, _) = DecodeBatch(model, prompts, feed, cache => new TorchDecodeStep(model, cache));
        for (int t = 0; t < feed.Length; t++)
        {
            double diff = (fast[t] - reference[t]).abs().max().item<float>();
            Assert.True(diff <= 2e-6, $"step {t}: max difference {diff:E3}");
            Assert.Equal(reference[t].argmax(-1).data<long>().ToArray(), fast[t].argmax(-1).data<long>().ToArray());
        }
    }

    /// <summary>
    /// Left-pads the prompts and runs them through the torch forward, then feeds one token per row per step through
    /// the decode step <paramref name="begin"/> makes; returns each step's logits [rows, V] and the cache.
    /// </summary>
    static (List<Tensor> Logits, KvCache Cache) DecodeBatch(Gpt2LMHeadModel model, int[][] prompts, long[][] steps, Func<KvCache, IDecodeStep> begin)
    {
        int rows = prompts.Length, len = prompts.Max(p => p.Length);
        var ids = zeros(rows, len, ScalarType.Int64);
        var mask = zeros(rows, len, ScalarType.Int64);
        var pos = zeros(rows, len, ScalarType.Int64);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < prompts[r].Length; j++)
            {
                int at = len - prompts[r].Length + j;
                ids[r, at] = prompts[r][j]; mask[r, at] = 1; pos[r, at] = j;
            }
        var cache = new KvCache(model.Config, rows, len + steps.Length, CPU, ScalarType.Float32);
        model.Forward(ids, pos, mask, cache, lastOnly: true);
        var next = pos.select(1, -1).unsqueeze(1);
        var logits = new List<Tensor>();
        using (var decode = begin(cache))
            foreach (var step in steps)
            {
                mask = cat(new[] { mask, ones(rows, 1, ScalarType.Int64) }, 1);
                next = next + 1;
                logits.Add(decode.Next(tensor(step).view(rows, 1), next, mask));
            }
        return (logits, cache);
    }

    static void AssertSameLogits(List<Tensor> fast, List<Tensor> reference)
    {
        Assert.Equal(reference.Count, fast.Count);
        for (int t = 0; t < fast.Count; t++)
        {
            Assert.Equal(reference[t].shape, fast[t].shape);
            double scale = reference[t].abs().max().item<float>();
            double diff = (fast[t] - reference[t]).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * Math.Max(1, scale), $"step {t}: max difference {diff:E3} (logits up to {scale:F2})");
        }
    }

    /// <summary>The keys and values both paths wrote, position by position.</summary>
    static void AssertSameCache(KvCache fast, KvCache reference, int layers)
    {
        Assert.Equal(reference.Length, fast.Length);
        for (int l = 0; l < layers; l++)
            foreach (var (a, b) in new[] { (fast.Keys(l), reference.Keys(l)), (fast.Values(l), reference.Values(l)) })
            {
                double diff = (a.narrow(2, 0, fast.Length) - b.narrow(2, 0, fast.Length)).abs().max().item<float>();
                Assert.True(diff <= 1e-5, $"layer {l}: cached keys or values differ by {diff:E3}");
            }
    }

    [Fact]
    public void Greedy_generation_is_the_same_on_both_paths_and_uses_the_fast_one()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 200, layers: 3, embd: 48, heads: 4), seed: 3);
        var prompt = new[] { new[] { 5, 9, 14, 2 } };
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 30, StopAtEndOfText = false };
        using var fast = new Gpt2Generator(model);
        using var reference = new Gpt2Generator(model, DecodePath.Torch);
        var fastIds = fast.Generate(prompt, options)[0].GeneratedIds;
        var referenceIds = reference.Generate(prompt, options)[0].GeneratedIds;
        Assert.Equal(29, fast.CpuDecodedSteps);   // every step after the prompt's
        Assert.Equal(0, reference.CpuDecodedSteps);
        Assert.Equal(referenceIds, fastIds);
    }

    [Theory]
    [InlineData(3)]   // under one group of four inputs
    [InlineData(6)]   // a full group and a partial one
    [InlineData(21)]  // many groups, as the service's merged requests give
    public void A_left_padded_batch_decodes_like_the_torch_path(int rowCount)
    {
        var config = TinyGpt2.Config(vocab: 300, layers: 2, embd: 48, heads: 4, positions: 64);
        using var model = TinyGpt2.Create(config, seed: 21);
        var rng = new Random(8);
        var prompts = Enumerable.Range(0, rowCount).Select(r => Enumerable.Range(0, 1 + (r * 5) % 7).Select(_ => rng.Next(300)).ToArray()).ToArray();
        var steps = Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, rowCount).Select(_ => (long)rng.Next(300)).ToArray()).ToArray();
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        using var cpu = new Gpt2CpuDecoder();
        var (fast, fastCache) = DecodeBatch(model, prompts, steps, cache => cpu.TryBegin(model, cache)!);
        var (reference, torchCache) = DecodeBatch(model, prompts, steps, cache => new TorchDecodeStep(model, cache));
        Assert.Equal(steps.Length, cpu.Steps);
        AssertSameLogits(fast, reference);
        AssertSameCache(fastCache, torchCache, config.Layers);
    }

    [Fact]
    public void Sampled_batches_with_several_completions_are_the_same_on_both_paths()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 200, layers: 2, embd: 32, heads: 4), seed: 4);
        var prompts = new[] { new[] { 5, 9, 14, 2 }, new[] { 7 } };
        var options = new GenerationOptions { Temperature = 0.9, TopK = 20, TopP = 0.9, MaxNewTokens = 20, NumReturnSequences = 3, StopAtEndOfText = false, Seed = 11 };
        using var fast = new Gpt2Generator(model);
        using var reference = new Gpt2Generator(model, DecodePath.Torch);
        var fastIds = fast.Generate(prompts, options).Select(g => g.GeneratedIds).ToList();
        var referenceIds = reference.Generate(prompts, options).Select(g => g.GeneratedIds).ToList();
        Assert.Equal(19, fast.CpuDecodedSteps);   // six rows, one step each after the prompt
        Assert.Equal(referenceIds, fastIds);
    }

    [Fact]
    public void The_CPU_decoder_declines_what_it_does_not_cover()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(), seed: 9);
        using var scope = NewDisposeScope();
        using var cpu = new Gpt2CpuDecoder();

        // Gradients wanted (training): torch, so autograd sees the step.
        using (var cache = new KvCache(model.Config, 1, 4, CPU, ScalarType.Float32))
            Assert.Null(cpu.TryBegin(model, cache));

        using var _ = inference_mode();
        // More rows than the decoder takes.
        using (var cache = new KvCache(model.Config, Gpt2CpuDecoder.MaxRows + 1, 4, CPU, ScalarType.Float32))
            Assert.Null(cpu.TryBegin(model, cache));

        // The exact (erf) GELU is left to torch.
        using var exact = TinyGpt2.Create(TinyGpt2.Config() with { Activation = "gelu" }, seed: 9);
        Assert.False(Gpt2CpuDecoder.Supports(exact));
        using (var cache = new KvCache(exact.Config, 1, 4, CPU, ScalarType.Float32))
            Assert.Null(cpu.TryBegin(exact, cache));

        // And the plain case is taken (so the nulls above mean something).
        using (var cache = new KvCache(model.Config, Gpt2CpuDecoder.MaxRows, 4, CPU, ScalarType.Float32))
        using (var step = cpu.TryBegin(model, cache))
            Assert.NotNull(step);
        Assert.Equal(0, cpu.Steps);
    }

    [Fact]
    public void A_generation_the_CPU_decoder_declines_decodes_on_torch()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(), seed: 9);
        using var generator = new Gpt2Generator(model);
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 3, StopAtEndOfText = false };
        var many = Enumerable.Range(0, Gpt2CpuDecoder.MaxRows + 1).Select(i => new[] { i % 60 }).ToArray();
        using var reference = new Gpt2Generator(model, DecodePath.Torch);
        Assert.Equal(reference.Generate(many, options).Select(g => g.GeneratedIds), generator.Generate(many, options).Select(g => g.GeneratedIds));
        Assert.Equal(0, generator.CpuDecodedSteps);
    }

    [Fact]
    public void While_the_CPU_kernels_decode_torch_keeps_to_the_calling_thread_and_gets_its_threads_back()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(), seed: 9);
        var options = new GenerationOptions { Temperature = 0.8, TopK = 10, MaxNewTokens = 4, StopAtEndOfText = false, Seed = 1 };
        int before = get_num_threads();
        foreach (var path in new[] { DecodePath.Auto, DecodePath.Torch })
        {
            using var generator = new Gpt2Generator(model, path);
            var during = new List<int>();
            generator.Generate(new[] { new[] { 1, 2 } }, options, onToken: _ => during.Add(get_num_threads()));
            Assert.Equal(4, during.Count);
            // The decode step begins right after the prompt, before the first token is chosen.
            int expected = path == DecodePath.Auto ? 1 : before;
            Assert.All(during, n => Assert.Equal(expected, n));
            Assert.Equal(before, get_num_threads());
        }
    }

    [Fact]
    public void A_generator_ends_the_team_it_made_but_not_one_it_borrowed()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(), seed: 9);
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 3, StopAtEndOfText = false };
        var prompt = new[] { new[] { 1, 2 } };

        var own = new Gpt2Generator(model);
        own.Generate(prompt, options);
        own.Dispose();
        Assert.Throws<ObjectDisposedException>(() => own.Generate(prompt, options));

        using var team = new CpuTeam(2);
        var borrowing = new Gpt2Generator(model, team: team);
        borrowing.Generate(prompt, options);
        Assert.Equal(2, borrowing.CpuDecodedSteps);
        borrowing.Dispose();
        int done = 0;
        team.For(4, _ => Interlocked.Increment(ref done));   // still the caller's team
        Assert.Equal(4, done);
    }

    [Fact]
    public void Bad_steps_are_clear_errors()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(), seed: 9);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        using var cache = new KvCache(model.Config, 1, 2, CPU, ScalarType.Float32);
        using var cpu = new Gpt2CpuDecoder();
        using var decode = cpu.TryBegin(model, cache)!;
        decode.Next(tensor(new long[] { 1 }).view(1, 1), null, null);
        var outside = Assert.Throws<ArgumentException>(() => decode.Next(tensor(new long[] { 64 }).view(1, 1), null, null));
        Assert.Contains("outside the vocabulary", outside.Message);
        decode.Next(tensor(new long[] { 2 }).view(1, 1), null, null);
        var full = Assert.Throws<InvalidOperationException>(() => decode.Next(tensor(new long[] { 3 }).view(1, 1), null, null));
        Assert.Contains("KV cache full", full.Message);
    }
}
