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
        var seen = tensor(new[] { true, true, false, false }).unsqueeze(0);
        Assert.Equal(new float[] { 1, -4, 3, -1 }, Row(LogitsProcessing.RepetitionPenalty(logits, seen, 2.0)));
    }

    [Fact]
    public void Temperature_scales_logits()
    {
        var logits = tensor(new float[] { 2, -4 }).unsqueeze(0);
        Assert.Equal(new float[] { 4, -8 }, Row(LogitsProcessing.Temperature(logits, 0.5)));
    }
}
