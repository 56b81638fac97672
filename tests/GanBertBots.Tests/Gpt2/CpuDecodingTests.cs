using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

/// <summary>
/// The CPU decoding path (Gpt2CpuDecoder: SIMD kernels on the weights' memory) against the torch path
/// it replaces for batch-1 steps: two independent implementations of the same forward.
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
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        var fast = Decode(model, ids, cpuDecoding: true, out long fastSteps);
        var reference = Decode(model, ids, cpuDecoding: false, out long torchSteps);
        Assert.Equal(steps, fastSteps);       // the fast path really ran every step...
        Assert.Equal(0, torchSteps);          // ...and the reference never did
        AssertSameLogits(fast, reference);
    }

    /// <summary>Prefill 3 tokens through torch, then one token per step; returns each step's logits [V].</summary>
    static List<Tensor> Decode(Gpt2LMHeadModel model, long[] ids, bool cpuDecoding, out long cpuSteps) =>
        OnPath(model, cpuDecoding, out cpuSteps, () =>
        {
            using var cache = new KvCache(model.Config, 1, ids.Length, CPU, ScalarType.Float32);
            model.Forward(tensor(ids[..3]).unsqueeze(0), null, null, cache, lastOnly: true);
            var logits = new List<Tensor>();
            for (int t = 3; t < ids.Length; t++)
                logits.Add(model.Forward(tensor(new[] { ids[t] }).view(1, 1), null, null, cache, lastOnly: true).view(-1));
            return logits;
        });

    /// <summary>Runs <paramref name="run"/> with the CPU decoding path on or off; counts the steps it took that path.</summary>
    static T OnPath<T>(Gpt2LMHeadModel model, bool cpuDecoding, out long cpuSteps, Func<T> run)
    {
        model.CpuDecoding = cpuDecoding;
        long before = model.CpuDecodedSteps;
        try { return run(); }
        finally
        {
            cpuSteps = model.CpuDecodedSteps - before;
            model.CpuDecoding = true;
        }
    }

    static void AssertSameLogits(List<Tensor> fast, List<Tensor> reference)
    {
        Assert.Equal(reference.Count, fast.Count);
        for (int t = 0; t < fast.Count; t++)
        {
            double scale = reference[t].abs().max().item<float>();
            double diff = (fast[t] - reference[t]).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * Math.Max(1, scale), $"step {t}: max difference {diff:E3} (logits up to {scale:F2})");
        }
    }

    [Fact]
    public void Greedy_generation_is_the_same_on_both_paths_and_uses_the_fast_one()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 200, layers: 3, embd: 48, heads: 4), seed: 3);
        var prompt = new[] { new[] { 5, 9, 14, 2 } };
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 30, StopAtEndOfText = false };
        var fast = OnPath(model, true, out long fastSteps, () => new Gpt2Generator(model).Generate(prompt, options)[0].GeneratedIds);
        var reference = OnPath(model, false, out _, () => new Gpt2Generator(model).Generate(prompt, options)[0].GeneratedIds);
        Assert.Equal(29, fastSteps);   // every step after the prompt's
        Assert.Equal(reference, fast);
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

        var fast = DecodeBatch(model, prompts, steps, cpuDecoding: true, out long fastSteps);
        var reference = DecodeBatch(model, prompts, steps, cpuDecoding: false, out long torchSteps);
        Assert.Equal(steps.Length, fastSteps);
        Assert.Equal(0, torchSteps);
        AssertSameLogits(fast, reference);
    }

    /// <summary>Left-pads the prompts (torch prefill), then feeds one token per row per step; returns each step's logits [rows, V].</summary>
    static List<Tensor> DecodeBatch(Gpt2LMHeadModel model, int[][] prompts, long[][] steps, bool cpuDecoding, out long cpuSteps) =>
        OnPath(model, cpuDecoding, out cpuSteps, () =>
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
            using var cache = new KvCache(model.Config, rows, len + steps.Length, CPU, ScalarType.Float32);
            model.Forward(ids, pos, mask, cache, lastOnly: true);
            var next = pos.select(1, -1).unsqueeze(1);
            var logits = new List<Tensor>();
            foreach (var step in steps)
            {
                mask = cat(new[] { mask, ones(rows, 1, ScalarType.Int64) }, 1);
                next = next + 1;
                logits.Add(model.Forward(tensor(step).view(rows, 1), next, mask, cache, lastOnly: true).squeeze(1));
            }
            return logits;
        });

    [Fact]
    public void Sampled_batches_with_several_completions_are_the_same_on_both_paths()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 200, layers: 2, embd: 32, heads: 4), seed: 4);
        var prompts = new[] { new[] { 5, 9, 14, 2 }, new[] { 7 } };
        var options = new GenerationOptions { Temperature = 0.9, TopK = 20, TopP = 0.9, MaxNewTokens = 20, NumReturnSequences = 3, StopAtEndOfText = false, Seed = 11 };
        var fast = OnPath(model, true, out long fastSteps, () => new Gpt2Generator(model).Generate(prompts, options).Select(g => g.GeneratedIds).ToList());
        var reference = OnPath(model, false, out _, () => new Gpt2Generator(model).Generate(prompts, options).Select(g => g.GeneratedIds).ToList());
        Assert.Equal(19, fastSteps);   // six rows, one step each after the prompt
        Assert.Equal(reference, fast);
    }

    [Fact]
    public void Other_cases_stay_on_the_torch_path()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(), seed: 9);
        using var scope = NewDisposeScope();
        var token = tensor(new long[] { 4 }).view(1, 1);
        var prompt = tensor(new long[] { 4, 5 }).view(1, 2);   // two tokens: the torch path's prefill

        // Gradients wanted (training): torch, so autograd sees the step.
        using (var cache = new KvCache(model.Config, 1, 4, CPU, ScalarType.Float32))
        {
            model.Forward(token, null, null, cache, lastOnly: true);
            Assert.True(model.Forward(token, null, null, cache, lastOnly: true).requires_grad);
        }
        Assert.Equal(0, model.CpuDecodedSteps);

        using var _ = inference_mode();
        // More rows than the decoder takes.
        int many = Gpt2LMHeadModel.CpuDecodingMaxRows + 1;
        using (var cache = new KvCache(model.Config, many, 4, CPU, ScalarType.Float32))
        {
            var rows = arange(many, dtype: ScalarType.Int64).view(many, 1);
            model.Forward(rows, null, null, cache, lastOnly: true);
            model.Forward(rows, null, null, cache, lastOnly: true);
        }
        Assert.Equal(0, model.CpuDecodedSteps);

        // The exact (erf) GELU is left to torch.
        using var exact = TinyGpt2.Create(TinyGpt2.Config() with { Activation = "gelu" }, seed: 9);
        using (var cache = new KvCache(exact.Config, 1, 4, CPU, ScalarType.Float32))
        {
            exact.Forward(token, null, null, cache, lastOnly: true);
            exact.Forward(token, null, null, cache, lastOnly: true);
        }
        Assert.Equal(0, exact.CpuDecodedSteps);

        // And the plain case does take the fast path (so the zeros above mean something).
        using (var cache = new KvCache(model.Config, 1, 4, CPU, ScalarType.Float32))
        {
            model.Forward(prompt, null, null, cache, lastOnly: true);
            model.Forward(token, null, tensor(new long[] { 1, 1, 1 }).view(1, 3), cache, lastOnly: true);
        }
        Assert.Equal(1, model.CpuDecodedSteps);
    }

    [Fact]
    public void Bad_steps_are_clear_errors()
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(), seed: 9);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        using var cache = new KvCache(model.Config, 1, 2, CPU, ScalarType.Float32);
        model.Forward(tensor(new long[] { 1 }).view(1, 1), null, null, cache, lastOnly: true);
        var outside = Assert.Throws<ArgumentException>(() => model.Forward(tensor(new long[] { 64 }).view(1, 1), null, null, cache, lastOnly: true));
        Assert.Contains("outside the vocabulary", outside.Message);
        model.Forward(tensor(new long[] { 2 }).view(1, 1), null, null, cache, lastOnly: true);
        var full = Assert.Throws<InvalidOperationException>(() => model.Forward(tensor(new long[] { 3 }).view(1, 1), null, null, cache, lastOnly: true));
        Assert.Contains("KV cache full", full.Message);
    }
}
