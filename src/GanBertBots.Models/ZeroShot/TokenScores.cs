namespace GanBertBots.Models.ZeroShot;

/// <summary>
/// What a GPT-2 thinks of each token of one sequence, read from one forward pass. Position 0 has no context: its
/// entries are 0 (rank 0) and it never counts in a score. For every later position t with log-probabilities
/// lp_t over the vocabulary and p_t = exp lp_t:
/// <list type="bullet">
/// <item><see cref="LogProbabilities"/>[t] = lp_t[x_t], the observed token's log-probability;</item>
/// <item><see cref="Ranks"/>[t] = 1 + the number of tokens strictly more likely than x_t (1 = the argmax; GLTR);</item>
/// <item><see cref="ExpectedLogProbabilities"/>[t] = Σ_v p_t,v·lp_t,v (minus the entropy): the mean log-probability of a token sampled from p_t;</item>
/// <item><see cref="LogProbabilityVariances"/>[t] = Σ_v p_t,v·(lp_t,v − mean)²: its variance.</item>
/// </list>
/// </summary>
public sealed record TokenScores(int[] Ids, int[] Ranks, double[] LogProbabilities, double[] ExpectedLogProbabilities, double[] LogProbabilityVariances)
{
    public int Count => Ids.Length;

    /// <summary>
    /// Fast-DetectGPT's analytical sampling discrepancy (Bao et al., ICLR 2024, eq. 4 with the analytical mean and
    /// variance of their appendix) over the tokens [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>),
    /// position 0 left out: (Σ lp_t[x_t] − Σ μ_t) / √(Σ σ²_t). Sums over tokens, not means, as in the authors' code
    /// (so a steady per-token gap grows with √length). The sampling and the scoring model are the same GPT-2.
    /// NaN when the range holds no scored token or the model was certain at every one of them (variance 0).
    /// </summary>
    public double Discrepancy(int first = 0, int count = -1)
    {
        if (count < 0) count = Count - first;
        if (first < 0 || first + count > Count) throw new ArgumentOutOfRangeException(nameof(first), $"tokens [{first}, {first + count}) outside a sequence of {Count}");
        double logLikelihood = 0, expected = 0, variance = 0;
        for (int t = Math.Max(first, 1); t < first + count; t++)
        {
            logLikelihood += LogProbabilities[t];
            expected += ExpectedLogProbabilities[t];
            variance += LogProbabilityVariances[t];
        }
        return variance > 0 ? (logLikelihood - expected) / Math.Sqrt(variance) : double.NaN;
    }
}
