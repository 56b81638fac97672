using GanBertBots.Models.Gpt2;
using static TorchSharp.torch;

namespace GanBertBots.Models.ZeroShot;

// Fast-DetectGPT (Bao et al., ICLR 2024) with one model for sampling and scoring, and GLTR's ranks (Gehrmann et al.
// 2019), from one forward pass per batch. Shapes: B rows, T positions (padded), V vocabulary.
//
// Numerics: the per-position sums over the vocabulary run in the model's precision (float32 when served; float16 and
// bfloat16 models are widened to float32 first), with the variance taken about the mean, Σ p (lp − μ)², rather than
// as Σ p lp² − μ², which would cancel catastrophically where the model is nearly certain. The sums over positions
// are done in double by TokenScores.

/// <summary>
/// Reads per-token log-probabilities, ranks, and the mean and variance of a sampled token's log-probability from a
/// GPT-2 (<see cref="TokenScores"/>); batched with padding and a mask. Not thread-safe: call it from the thread that
/// owns the model.
/// </summary>
public sealed class ZeroShotScorer(Gpt2LMHeadModel model)
{
    /// <summary>
    /// Most elements of one [B, T, V] tensor per model call: rows are scored in chunks under this, so a batch of 32
    /// long texts with GPT-2's 50,257-token vocabulary does not need gigabytes at once.
    /// </summary>
    public long MaxLogitElements { get; init; } = 16L << 20;

    /// <summary>The most tokens one sequence may have (the model's positions).</summary>
    public int Window => model.Config.MaxPositions;

    /// <summary>Scores each sequence of token ids (each 1 to <see cref="Window"/> ids), in order.</summary>
    public IReadOnlyList<TokenScores> Score(IReadOnlyList<int[]> sequences, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        for (int i = 0; i < sequences.Count; i++)
        {
            int n = sequences[i]?.Length ?? throw new ArgumentNullException(nameof(sequences), $"sequence {i} is null");
            if (n == 0) throw new ArgumentException($"sequence {i} is empty: there is nothing to score", nameof(sequences));
            if (n > Window) throw new ArgumentException($"sequence {i} has {n} tokens, more than the scorer's window of {Window}", nameof(sequences));
            foreach (int id in sequences[i])
                if ((uint)id >= (uint)model.Config.VocabSize)
                    throw new ArgumentException($"sequence {i} holds token id {id}, outside the model's vocabulary of {model.Config.VocabSize}", nameof(sequences));
        }

        // Longest first, so the rows of a chunk have similar lengths and little padding.
        var order = Enumerable.Range(0, sequences.Count).OrderByDescending(i => sequences[i].Length).ToArray();
        var results = new TokenScores[sequences.Count];
        long vocab = model.Config.VocabSize;
        for (int start = 0; start < order.Length;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long longest = sequences[order[start]].Length;
            int rows = (int)Math.Clamp(MaxLogitElements / (longest * vocab), 1, order.Length - start);
            var chunk = order.AsSpan(start, rows).ToArray();
            var scored = ScoreChunk(chunk.Select(i => sequences[i]).ToList());
            for (int r = 0; r < rows; r++) results[chunk[r]] = scored[r];
            start += rows;
        }
        return results;
    }

    List<TokenScores> ScoreChunk(List<int[]> rows)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int b = rows.Count, t = rows.Max(r => r.Length);
        var device = model.Device;

        // Right padding with id 0 under a zero mask: positions 0..n-1 of every row are real.
        var idData = new long[b * t];
        var maskData = new long[b * t];
        for (int r = 0; r < b; r++)
            for (int j = 0; j < rows[r].Length; j++) { idData[r * t + j] = rows[r][j]; maskData[r * t + j] = 1; }
        var ids = tensor(idData, [b, t], dtype: ScalarType.Int64).to(device);     // [B, T]
        var mask = tensor(maskData, [b, t], dtype: ScalarType.Int64).to(device);  // [B, T]

        var scores = new List<TokenScores>(b);
        if (t == 1)
        {
            foreach (var row in rows) scores.Add(new TokenScores(row, [0], [0.0], [0.0], [0.0]));
            return scores;
        }

        var logits = model.Forward(ids, positions: null, paddingMask: mask, cache: null, lastOnly: false);  // [B, T, V]
        if (logits.dtype is ScalarType.Float16 or ScalarType.BFloat16) logits = logits.to(ScalarType.Float32);
        // Position t-1 predicts token t: the first token has no prediction.
        var lp = logits.narrow(1, 0, t - 1).log_softmax(-1);                 // [B, T-1, V]
        var next = ids.narrow(1, 1, t - 1);                                        // [B, T-1]
        var observed = lp.gather(-1, next.unsqueeze(-1));                          // [B, T-1, 1]
        var ranks = lp.gt(observed).sum(-1, type: ScalarType.Int64).add_(1);       // [B, T-1]: 1 + tokens strictly more likely
        var p = lp.exp();                                                          // [B, T-1, V]
        var mean = p.mul(lp).sum(-1, keepdim: true);                               // [B, T-1, 1]: Σ_v p·lp
        var variance = lp.sub(mean).pow_(2).mul_(p).sum(-1);                      // [B, T-1]: Σ_v p·(lp − μ)²

        double[] Read(Tensor x) => x.reshape(b, t - 1).to(ScalarType.Float64).cpu().data<double>().ToArray();
        var observedData = Read(observed);
        var meanData = Read(mean);
        var varianceData = Read(variance);
        var rankData = ranks.to(ScalarType.Int64).cpu().data<long>().ToArray();

        for (int r = 0; r < b; r++)
        {
            int n = rows[r].Length;
            var rank = new int[n];
            var logProbability = new double[n];
            var expected = new double[n];
            var spread = new double[n];
            for (int j = 1; j < n; j++)
            {
                int k = r * (t - 1) + (j - 1);
                rank[j] = (int)rankData[k];
                logProbability[j] = observedData[k];
                expected[j] = meanData[k];
                spread[j] = varianceData[k];
            }
            scores.Add(new TokenScores(rows[r], rank, logProbability, expected, spread));
        }
        return scores;
    }
}
