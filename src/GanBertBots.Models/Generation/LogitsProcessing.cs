using static TorchSharp.torch;

namespace GanBertBots.Models.Generation;

/// <summary>
/// The standard logits transformations, each on a [B, V] float tensor, in the order Hugging Face
/// applies them: repetition penalty, temperature, top-k, top-p.
/// </summary>
public static class LogitsProcessing
{
    /// <summary>CTRL's penalty: for tokens already seen, divide positive logits and multiply negative ones by <paramref name="penalty"/>.</summary>
    /// <param name="logits">[B, V].</param>
    /// <param name="seenIds">
    /// [B, S] int64: the ids each row has seen (prompt and output). A row with fewer than S repeats one of
    /// its ids; a repeat is harmless (the same value is written twice). Only these S entries are touched,
    /// so the cost follows the text's length, not the vocabulary's.
    /// </param>
    public static Tensor RepetitionPenalty(Tensor logits, Tensor seenIds, double penalty)
    {
        if (penalty == 1.0) return logits;
        var seen = logits.gather(-1, seenIds);                                        // [B, S]
        var penalised = where(seen.lt(0), seen * penalty, seen / penalty);
        return logits.scatter(-1, seenIds, penalised);
    }

    public static Tensor Temperature(Tensor logits, double temperature) =>
        temperature == 1.0 ? logits : logits / temperature;

    /// <summary>Keeps the K largest logits of each row; the rest become -inf.</summary>
    public static Tensor TopK(Tensor logits, int k)
    {
        if (k <= 0 || k >= logits.shape[^1]) return logits;
        var kth = logits.topk(k, dim: -1).values.narrow(-1, k - 1, 1);   // [B, 1]
        return logits.masked_fill(logits.lt(kth), double.NegativeInfinity);
    }

    /// <summary>
    /// The tokens sampling may pick after <see cref="TopK"/> and then <see cref="TopP"/>, most likely
    /// first: values [B, M] (a token top-p drops is -inf) and their vocabulary ids [B, M]. The same
    /// filter as those two over the whole vocabulary, but computed on the M most likely tokens only:
    /// M = K under top-k; under top-p alone M starts at 256 and grows until, in every row, the last
    /// candidate is already dropped (so no token beyond it can be kept). Sorting the whole vocabulary for
    /// top-p costs far more than taking the top few hundred (docs/decoding.md).
    /// With neither filter every token is a candidate, in vocabulary order.
    /// </summary>
    public static (Tensor Values, Tensor Ids) Candidates(Tensor logits, int topK, double topP)
    {
        long vocab = logits.shape[^1];
        bool useK = topK > 0 && topK < vocab;
        bool useP = topP < 1.0;
        if (!useK && !useP)
            return (logits.alias(), arange(vocab, dtype: ScalarType.Int64, device: logits.device).expand(logits.shape));
        long m = useK ? topK : Math.Min(vocab, 256);
        // Top-p's probabilities: over the top-k survivors when top-k applies (the rest are -inf), else over the vocabulary.
        var logNormaliser = useK ? null : logits.logsumexp(-1, keepdim: true);                 // [B, 1]
        while (true)
        {
            var (values, ids) = logits.topk((int)m, dim: -1, largest: true, sorted: true);      // [B, M]
            if (!useP) return (values, ids);
            var probs = (values - (logNormaliser ?? values.logsumexp(-1, keepdim: true))).exp();
            var massBefore = probs.cumsum(-1) - probs;                                          // as in TopP
            var drop = massBefore.ge(topP);
            if (useK || m == vocab || drop.select(-1, m - 1).all().item<bool>())
                return (values.masked_fill(drop, double.NegativeInfinity), ids);
            m = Math.Min(vocab, m * 4);
        }
    }

    /// <summary>Keeps the smallest set of most likely tokens whose probability mass reaches P (at least one).</summary>
    public static Tensor TopP(Tensor logits, double p)
    {
        if (p >= 1.0) return logits;
        var (sorted, order) = logits.sort(dim: -1, descending: true);            // [B, V]
        var probs = sorted.softmax(-1);
        var massBefore = probs.cumsum(-1) - probs;                              // mass of strictly more likely tokens
        var dropSorted = massBefore.ge(p);                                      // as Hugging Face; the first token (mass 0) is never dropped
        var drop = zeros_like(dropSorted).scatter(-1, order, dropSorted);       // back to vocabulary order
        return logits.masked_fill(drop, double.NegativeInfinity);
    }
}
