using System.Text.Json;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Tests.Support;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

public class Gpt2GenerationTests
{
    [SharedDataFact("tiny-random-gpt2/model.safetensors", "tiny-random-gpt2/expected.json")]
    public void Greedy_outputs_match_the_independent_runtime_exactly()
    {
        string dir = SharedData.Require("tiny-random-gpt2");
        using var model = Gpt2Checkpoint.Load(dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(2, cases.Count);
        var prompts = cases.Select(c => c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToList();
        var expected = cases.Select(c => c.GetProperty("greedy_max_length_10").EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToList();

        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 10 - prompts[0].Length, StopAtEndOfText = false };
        var result = new Gpt2Generator(model).Generate(prompts, options);   // the two cases as one batch, as recorded

        for (int i = 0; i < 2; i++)
            Assert.Equal(expected[i], result[i].PromptIds.Concat(result[i].GeneratedIds).ToArray());

        // And each prompt alone gives the same.
        for (int i = 0; i < 2; i++)
        {
            var alone = new Gpt2Generator(model).Generate(new[] { prompts[i] }, options);
            Assert.Equal(expected[i], alone[0].PromptIds.Concat(alone[0].GeneratedIds).ToArray());
        }
    }

    [Theory]
    [InlineData(false)]   // decoding steps through the torch forward
    [InlineData(true)]    // decoding steps through the CPU kernels
    public void Kv_cache_logits_equal_full_recompute(bool cpuKernels)
    {
        using var model = TinyGpt2.Create();
        var ids = new long[] { 5, 17, 42, 3, 9, 60, 1, 33, 7, 21 };
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var full = model.forward(tensor(ids).unsqueeze(0));                    // [1, T, V]

        using var cache = new KvCache(model.Config, 1, ids.Length, CPU, ScalarType.Float32);
        // Prefill 4 tokens, then feed the rest one at a time.
        var prefill = model.Forward(tensor(ids[..4]).unsqueeze(0), null, null, cache, lastOnly: false);
        AssertClose(full.narrow(1, 0, 4), prefill, 1e-5);
        using var cpu = new Gpt2CpuDecoder();
        using var decode = cpuKernels ? cpu.TryBegin(model, cache)! : new TorchDecodeStep(model, cache);
        for (int t = 4; t < ids.Length; t++)
        {
            var step = decode.Next(tensor(new[] { ids[t] }).unsqueeze(0), null, null);   // [1, V]
            AssertClose(full.select(1, t), step, 1e-5);
        }
        Assert.Equal(cpuKernels ? ids.Length - 4 : 0, cpu.Steps);
    }

    [Fact]
    public void Padded_batch_equals_each_prompt_alone()
    {
        using var model = TinyGpt2.Create();
        var prompts = new[] { new[] { 3, 14, 15, 9, 26, 5 }, new[] { 8 }, new[] { 40, 41, 42 } };
        using var scope = NewDisposeScope();
        using var _ = inference_mode();

        // Logits of the whole padded batch at every real position vs each prompt alone.
        int len = prompts.Max(p => p.Length);
        var ids = zeros(prompts.Length, len, ScalarType.Int64);
        var mask = zeros(prompts.Length, len, ScalarType.Int64);
        var pos = zeros(prompts.Length, len, ScalarType.Int64);
        for (int r = 0; r < prompts.Length; r++)
            for (int j = 0; j < prompts[r].Length; j++)
            {
                int at = len - prompts[r].Length + j;
                ids[r, at] = prompts[r][j]; mask[r, at] = 1; pos[r, at] = j;
            }
        var batch = model.Forward(ids, pos, mask, null, lastOnly: false);
        for (int r = 0; r < prompts.Length; r++)
        {
            var alone = model.forward(tensor(prompts[r].Select(x => (long)x).ToArray()).unsqueeze(0));
            AssertClose(alone[0], batch[r].narrow(0, len - prompts[r].Length, prompts[r].Length), 1e-5);
        }

        // Greedy continuations: batch == alone, token for token.
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 12, StopAtEndOfText = false };
        var together = new Gpt2Generator(model).Generate(prompts, options);
        for (int r = 0; r < prompts.Length; r++)
            Assert.Equal(new Gpt2Generator(model).Generate(new[] { prompts[r] }, options)[0].GeneratedIds, together[r].GeneratedIds);
    }

    [Fact]
    public void Same_seed_same_tokens_and_other_seed_other_tokens()
    {
        using var model = TinyGpt2.Create();
        var gen = new Gpt2Generator(model);
        var prompt = new[] { new[] { 1, 2, 3 } };
        var o = new GenerationOptions { Temperature = 1.0, TopK = 20, TopP = 0.95, MaxNewTokens = 30, Seed = 42, StopAtEndOfText = false };
        var a = gen.Generate(prompt, o)[0].GeneratedIds;
        var b = gen.Generate(prompt, o)[0].GeneratedIds;
        var c = gen.Generate(prompt, o with { Seed = 43 })[0].GeneratedIds;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        // The prompt's sample does not depend on what it is batched with.
        var batched = gen.Generate(new[] { new[] { 9, 9 }, new[] { 1, 2, 3 } }, o);
        Assert.Equal(a, batched[1].GeneratedIds);
    }

    [Fact]
    public void Prompt_seeds_make_equal_prompts_differ_and_match_each_prompt_alone()
    {
        using var model = TinyGpt2.Create();
        var gen = new Gpt2Generator(model);
        var prompt = new[] { 1, 2, 3 };
        var o = new GenerationOptions { Temperature = 1.0, MaxNewTokens = 20, Seed = 42, StopAtEndOfText = false };
        var shared = gen.Generate(new[] { prompt, prompt }, o);
        Assert.Equal(shared[0].GeneratedIds, shared[1].GeneratedIds);                 // one seed: one text
        var own = gen.Generate(new[] { prompt, prompt }, o with { PromptSeeds = new long[] { 100, 200 } });
        Assert.NotEqual(own[0].GeneratedIds, own[1].GeneratedIds);
        Assert.Equal(gen.Generate(new[] { prompt }, o with { Seed = 200 })[0].GeneratedIds, own[1].GeneratedIds);
        Assert.Throws<ArgumentException>(() => gen.Generate(new[] { prompt, prompt }, o with { PromptSeeds = new long[] { 1 } }));
    }

    [Fact]
    public void Several_completions_per_prompt_differ_and_are_grouped_by_prompt()
    {
        using var model = TinyGpt2.Create();
        var o = new GenerationOptions { Temperature = 1.5, MaxNewTokens = 15, NumReturnSequences = 3, Seed = 7, StopAtEndOfText = false };
        var result = new Gpt2Generator(model).Generate(new[] { new[] { 1, 2 }, new[] { 5 } }, o);
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 1 }, result.Select(r => r.PromptIndex).ToArray());
        Assert.Equal(3, result.Take(3).Select(r => string.Join(",", r.GeneratedIds)).Distinct().Count());
    }

    [Fact]
    public void Streaming_reports_every_token_in_order()
    {
        using var model = TinyGpt2.Create();
        var seen = new List<TokenStep>();
        var o = new GenerationOptions { Temperature = 0, MaxNewTokens = 8, StopAtEndOfText = false };
        var result = new Gpt2Generator(model).Generate(new[] { new[] { 4, 5 }, new[] { 6 } }, o, onToken: seen.Add);
        for (int r = 0; r < 2; r++)
            Assert.Equal(result[r].GeneratedIds, seen.Where(s => s.Row == r).Select(s => s.TokenId).ToArray());
    }

    [Fact]
    public void Stop_condition_and_end_of_text_end_a_row_early()
    {
        using var model = TinyGpt2.Create();
        var o = new GenerationOptions { Temperature = 0, MaxNewTokens = 20, StopAtEndOfText = false };
        var free = new Gpt2Generator(model).Generate(new[] { new[] { 4, 5 } }, o)[0];
        Assert.Equal(FinishReason.Length, free.FinishReason);
        Assert.Equal(20, free.GeneratedIds.Length);
        // Stop as soon as 3 tokens are out.
        var stopped = new Gpt2Generator(model).Generate(new[] { new[] { 4, 5 } }, o, stop: (_, g) => g.Count == 3)[0];
        Assert.Equal(FinishReason.StopSequence, stopped.FinishReason);
        Assert.Equal(free.GeneratedIds[..3], stopped.GeneratedIds);
        // Make the 5th greedy token the end-of-text token: generation ends there.
        var config = model.Config with { EosTokenId = free.GeneratedIds[4], PadTokenId = 0 };
        if (!free.GeneratedIds[..4].Contains(free.GeneratedIds[4]))
        {
            using var same = TinyGpt2.Create(model.Config);
            var eosModel = new Gpt2Generator(Rebind(same, config));
            var ended = eosModel.Generate(new[] { new[] { 4, 5 } }, o with { StopAtEndOfText = true })[0];
            Assert.Equal(FinishReason.EndOfText, ended.FinishReason);
            Assert.Equal(free.GeneratedIds[..5], ended.GeneratedIds);
        }
    }

    static Gpt2LMHeadModel Rebind(Gpt2LMHeadModel source, Gpt2Config config)
    {
        var m = new Gpt2LMHeadModel(config);
        m.load_state_dict(source.state_dict());
        m.eval();
        return m;
    }

    [Theory]
    [InlineData(0.0)]   // greedy
    [InlineData(0.8)]   // sampled
    public void A_completions_score_is_the_log_probability_a_full_forward_gives_its_tokens(double temperature)
    {
        using var model = TinyGpt2.Create();
        var prompt = new[] { 4, 5, 6 };
        var o = new GenerationOptions { Temperature = temperature, MaxNewTokens = 8, StopAtEndOfText = false, Seed = 3, RepetitionPenalty = 1.3 };
        var found = new Gpt2Generator(model).Generate(new[] { prompt }, o)[0];
        double expected = 0;
        using (inference_mode())
        {
            using var scope = NewDisposeScope();
            var all = prompt.Concat(found.GeneratedIds).Select(t => (long)t).ToArray();
            var logp = model.forward(tensor(all).unsqueeze(0))[0].to(ScalarType.Float64).log_softmax(-1);   // [T, V]
            for (int i = 0; i < found.GeneratedIds.Length; i++)
                expected += logp[prompt.Length - 1 + i, found.GeneratedIds[i]].item<double>();
        }
        // Under the model, not under the penalised or tempered scores that chose them.
        Assert.InRange(Math.Abs(expected - found.Score), 0, 1e-4);
    }

    [Fact]
    public void Repetition_penalty_changes_greedy_choice_away_from_seen_tokens()
    {
        using var model = TinyGpt2.Create();
        var o = new GenerationOptions { Temperature = 0, MaxNewTokens = 30, StopAtEndOfText = false };
        var plain = new Gpt2Generator(model).Generate(new[] { new[] { 4, 5 } }, o)[0].GeneratedIds;
        var penalised = new Gpt2Generator(model).Generate(new[] { new[] { 4, 5 } }, o with { RepetitionPenalty = 5.0 })[0].GeneratedIds;
        Assert.True(penalised.Distinct().Count() > plain.Distinct().Count(),
            $"penalty should diversify: plain {plain.Distinct().Count()} distinct, penalised {penalised.Distinct().Count()}");
    }

    [Fact]
    public void Beam_search_finds_the_most_likely_sequence_that_brute_force_finds()
    {
        // Vocabulary of 6, 3 new tokens: 216 sequences, all scored by a full forward each.
        var config = TinyGpt2.Config(vocab: 6, layers: 1, embd: 8, heads: 2, positions: 16);
        using var model = TinyGpt2.Create(config, seed: 99);
        var prompt = new[] { 2, 4 };
        double best = double.NegativeInfinity; int[]? bestSeq = null;
        using (inference_mode())
            for (int a = 0; a < 6; a++) for (int b = 0; b < 6; b++) for (int c = 0; c < 6; c++)
            {
                using var scope = NewDisposeScope();
                var seq = new long[] { prompt[0], prompt[1], a, b, c };
                var logp = model.forward(tensor(seq).unsqueeze(0))[0].to(ScalarType.Float64).log_softmax(-1);
                double s = logp[1, a].item<double>() + logp[2, b].item<double>() + logp[3, c].item<double>();
                if (s > best) { best = s; bestSeq = new[] { a, b, c }; }
            }
        // 36 beams keep every 2-token prefix, so the search is exhaustive at length 3.
        var o = new GenerationOptions { NumBeams = 36, MaxNewTokens = 3, LengthPenalty = 0, StopAtEndOfText = false };
        var found = new Gpt2Generator(model).Generate(new[] { prompt }, o)[0];
        Assert.Equal(bestSeq, found.GeneratedIds);
        // The search's log-softmax is float32 (summed in float64): its score matches to float32 accuracy.
        Assert.InRange(Math.Abs(best - found.Score), 0, 1e-5);
    }

    [Fact]
    public void Beam_search_batched_equals_alone_and_returns_ranked_completions()
    {
        using var model = TinyGpt2.Create();
        var o = new GenerationOptions { NumBeams = 4, NumReturnSequences = 3, MaxNewTokens = 6, StopAtEndOfText = false };
        var prompts = new[] { new[] { 7, 8, 9 }, new[] { 11 } };
        var batch = new Gpt2Generator(model).Generate(prompts, o);
        Assert.Equal(6, batch.Count);
        for (int q = 0; q < 2; q++)
        {
            var alone = new Gpt2Generator(model).Generate(new[] { prompts[q] }, o);
            var mine = batch.Where(b => b.PromptIndex == q).ToList();
            Assert.Equal(alone.Select(a => string.Join(",", a.GeneratedIds)), mine.Select(a => string.Join(",", a.GeneratedIds)));
            Assert.True(mine.Zip(mine.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        }
    }

    [Fact]
    public void Bad_requests_are_clear_errors()
    {
        using var model = TinyGpt2.Create();
        var gen = new Gpt2Generator(model);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => gen.Generate(new[] { Array.Empty<int>() }, new GenerationOptions())).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => gen.Generate(new[] { new[] { 9999 } }, new GenerationOptions())).Message);
        Assert.Contains("positions", Assert.Throws<ArgumentException>(() => gen.Generate(new[] { new int[60] }, new GenerationOptions { MaxNewTokens = 10 })).Message);
        Assert.Contains("top-p", Assert.Throws<ArgumentException>(() => gen.Generate(new[] { new[] { 1 } }, new GenerationOptions { TopP = 0 })).Message);
    }

    static void AssertClose(Tensor expected, Tensor actual, double tol)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= tol, $"max abs difference {diff:E3} > {tol:E1}");
    }
}
