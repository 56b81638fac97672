using static TorchSharp.torch;

namespace GanBertBots.Models.Generation;

/// <summary>
/// The standard logits transformations, each on a [B, V] float tensor, in the order Hugging Face
/// applies them: repetition penalty, temperature, top-k, top-p.
/// </summary>
public static class LogitsProcessing
{
    /// <summary>CTRL's penalty: for tokens already seen, divide positive logits and multiply negative ones by <paramref name="penalty"/>.</summary>
    /// <param name="seen">[B, V] bool: token already in the row's prompt or output.</param>
    public static Tensor RepetitionPenalty(Tensor logits, Tensor seen, double penalty)
    {
        if (penalty == 1.0) return logits;
        var penalised = where(logits.lt(0), logits * penalty, logits / penalty);
        return where(seen, penalised, logits);
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
