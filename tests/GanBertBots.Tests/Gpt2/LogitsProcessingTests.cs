using GanBertBots.Models.Generation;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

public class LogitsProcessingTests
{
    static float[] Row(Tensor t) => t.data<float>().ToArray();

    [Fact]
    public void Top_k_keeps_the_k_largest()
    {
        var logits = tensor(new float[] { 1, 5, 3, 4, 2 }).unsqueeze(0);
        var r = Row(LogitsProcessing.TopK(logits, 2));
        Assert.Equal(new[] { float.NegativeInfinity, 5, float.NegativeInfinity, 4, float.NegativeInfinity }, r);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        // probabilities 0.5, 0.3, 0.15, 0.05 (as logits = log p)
        var logits = tensor(new float[] { 0.15f, 0.5f, 0.05f, 0.3f }).log().unsqueeze(0);
        var keep = Row(LogitsProcessing.TopP(logits, 0.75)).Select(float.IsFinite).ToArray();
        Assert.Equal(new[] { false, true, false, true }, keep);      // 0.5 + 0.3 reaches 0.75
        var keepTight = Row(LogitsProcessing.TopP(logits, 0.4)).Select(float.IsFinite).ToArray();
        Assert.Equal(new[] { false, true, false, false }, keepTight); // the top token alone reaches 0.4
        var keepMost = Row(LogitsProcessing.TopP(logits, 0.9)).Select(float.IsFinite).ToArray();
        Assert.Equal(new[] { true, true, false, true }, keepMost);   // 0.5 + 0.3 + 0.15 = 0.95
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_seen_logits()
    {
        var logits = tensor(new float[] { 2, -2, 3, -1 }).unsqueeze(0);
        var seen = tensor(new long[] { 1, 0, 1 }).unsqueeze(0);   // token 1 twice: a padded row
        Assert.Equal(new float[] { 1, -4, 3, -1 }, Row(LogitsProcessing.RepetitionPenalty(logits, seen, 2.0)));
        Assert.Equal(new float[] { 2, -2, 3, -1 }, Row(logits));    // the input is left as it was
    }

    [Fact]
    public void Seen_tokens_pad_short_rows_with_their_own_ids_and_follow_beam_reordering()
    {
        var seen = new SeenTokens(new[] { new[] { 5, 7, 5 }, new[] { 9 } });
        seen.Add(1, 3);
        seen.Add(1, 9);                                            // already seen: no new entry
        var ids = seen.ToTensor(CPU);
        Assert.Equal(new long[] { 2, 2 }, ids.shape);
        Assert.Equal(new long[] { 5, 7, 9, 3 }, ids.data<long>().ToArray());

        var logits = tensor(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }).unsqueeze(0).repeat(2, 1);
        var penalised = LogitsProcessing.RepetitionPenalty(logits, ids, 2.0);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 3, 7, 4, 9, 10 }, Row(penalised[0]));
        Assert.Equal(new float[] { 1, 2, 3, 2, 5, 6, 7, 8, 9, 5 }, Row(penalised[1]));

        var reordered = seen.Reordered(new long[] { 1, 1 });       // both beams continue row 1
        reordered.Add(0, 4);
        Assert.Equal(new long[] { 9, 3, 4, 9, 3, 9 }, reordered.ToTensor(CPU).data<long>().ToArray());
        Assert.Equal(new long[] { 5, 7, 9, 3 }, seen.ToTensor(CPU).data<long>().ToArray());   // the original is untouched
    }

    [Fact]
    public void Temperature_scales_logits()
    {
        var logits = tensor(new float[] { 2, -4 }).unsqueeze(0);
        Assert.Equal(new float[] { 4, -8 }, Row(LogitsProcessing.Temperature(logits, 0.5)));
    }

    [Theory]
    [InlineData(50, 1.0, 1.0)]     // top-k alone
    [InlineData(50, 0.9, 1.0)]     // the tweet preset's shape: top-k, then top-p among the survivors
    [InlineData(0, 0.9, 1.0)]      // top-p alone, peaked: the first 256 candidates suffice
    [InlineData(0, 0.95, 0.01)]    // top-p alone, nearly flat: the candidate set has to grow to most of the vocabulary
    [InlineData(0, 1.0, 1.0)]      // neither: every token, in vocabulary order
    public void Candidates_keep_exactly_what_top_k_then_top_p_keep(int topK, double topP, double spread)
    {
        using var scope = NewDisposeScope();
        var logits = randn(new long[] { 3, 3000 }, generator: new Generator(42)) * (3 * spread);
        var expected = LogitsProcessing.TopP(LogitsProcessing.TopK(logits, topK), topP);

        var (values, ids) = LogitsProcessing.Candidates(logits, topK, topP);
        var rebuilt = full_like(logits, double.NegativeInfinity).scatter(-1, ids, values);   // back to vocabulary order
        Assert.Equal(expected.isfinite().data<bool>().ToArray(), rebuilt.isfinite().data<bool>().ToArray());
        Assert.Equal(expected.nan_to_num(neginf: -1e30).data<float>().ToArray(), rebuilt.nan_to_num(neginf: -1e30).data<float>().ToArray());
        var kept = rebuilt.isfinite().sum(dim: 1).data<long>().ToArray();
        Assert.All(kept, n => Assert.InRange(n, 1, topK > 0 ? topK : 3000));
        if (spread < 0.1) Assert.All(kept, n => Assert.True(n > 256, $"a flat distribution keeps {n} tokens, more than the first 256 candidates"));
        // most likely first
        var finite = values.nan_to_num(neginf: -1e30);
        Assert.True(topK == 0 && topP >= 1 || finite.diff(dim: 1).le(0).all().item<bool>());
    }
}
