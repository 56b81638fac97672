using GanBertBots.Models.Generation;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

public class CpuLogitsTests
{
    [Fact]
    public void Argmax_and_log_probabilities_match_torch_including_ties()
    {
        using var scope = NewDisposeScope();
        var logits = randn(new long[] { 4, 50257 }, generator: new Generator(8)) * 4;
        logits[2, 7] = 30f; logits[2, 3] = 30f;                    // a tie: the first index wins, as in torch
        long[] expected = logits.argmax(-1).data<long>().ToArray();
        long[] chosen = CpuLogits.ArgMax(logits);
        Assert.Equal(expected, chosen);
        Assert.Equal(3, chosen[2]);

        var picks = new long[] { chosen[0], 17, 50256, 0 };        // the maximum and arbitrary tokens
        double[] reference = logits.log_softmax(-1).gather(1, tensor(picks).unsqueeze(1)).squeeze(1).to(ScalarType.Float64).data<double>().ToArray();
        double[] mine = CpuLogits.LogProbs(logits, picks);
        for (int r = 0; r < 4; r++) Assert.InRange(Math.Abs(reference[r] - mine[r]), 0, 1e-5);
    }

    [Fact]
    public void Refuses_what_it_cannot_read()
    {
        using var scope = NewDisposeScope();
        Assert.False(CpuLogits.Applies(zeros(3, 5).t()));
        Assert.False(CpuLogits.Applies(zeros(3, 5, dtype: ScalarType.Float64)));
        Assert.False(CpuLogits.Applies(zeros(5)));
        Assert.Throws<ArgumentException>(() => CpuLogits.ArgMax(zeros(5)));
        Assert.Throws<ArgumentException>(() => CpuLogits.LogProbs(zeros(2, 5), new long[] { 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuLogits.LogProbs(zeros(1, 5), new long[] { 5 }));
    }
}
