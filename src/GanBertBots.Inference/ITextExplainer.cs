using GanBertBots.Models.ZeroShot;

namespace GanBertBots.Inference;

/// <summary>
/// A generator that can also read a text back and say how it looks to it (the GPT-2 generator does). Called only
/// from the inference service's worker thread, like the generator itself.
/// </summary>
public interface ITextExplainer
{
    string ModelVersion { get; }
    /// <summary>One completed <see cref="TextEvidence"/> per text, in order.</summary>
    IReadOnlyList<TextEvidence> ExplainBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken);
}

/// <summary>Turns the scorer's <see cref="ScoredText"/> into the product's <see cref="TextEvidence"/>.</summary>
public static class TextEvidenceReading
{
    /// <summary>
    /// A sentence's machine-likelihood: the logistic of its own analytical discrepancy d (over its tokens only),
    /// 1 / (1 + e^−d). d = 0 is a sentence exactly as likely as GPT-2's own samples at those positions (0.5); human text
    /// lies below, text written with greedy or truncated sampling above. A display scale for the picture, not a
    /// calibrated probability. A sentence with nothing to score (only the text's first token) gets 0.5.
    /// </summary>
    public static double MachineLikelihood(double discrepancy) =>
        double.IsNaN(discrepancy) ? 0.5 : 1 / (1 + Math.Exp(-discrepancy));

    public static TextEvidence From(ScoredText scored, string scorerVersion)
    {
        var s = scored.Scores;
        return new TextEvidence
        {
            Outcome = InferenceOutcome.Completed,
            Tokens = [.. scored.Pieces.Select((p, t) => new TokenEvidence(p, s.Ranks[t], s.LogProbabilities[t]))],
            Sentences = [.. scored.Sentences.Select(x => new SentenceEvidence(x.First, x.Count, MachineLikelihood(s.Discrepancy(x.First, x.Count))))],
            ZeroShotScore = scored.Score,
            Truncated = scored.Truncated,
            ScorerVersion = scorerVersion,
        };
    }
}
