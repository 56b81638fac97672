using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;

namespace GanBertBots.Models.ZeroShot;

/// <summary>A text as a GPT-2 read it: its token pieces, their scores, and its sentences.</summary>
/// <param name="Pieces">Each token's text (byte-level pieces decoded; a piece that ends inside a character is empty and the
/// character goes with the token that completes it).</param>
/// <param name="Sentences">Runs of tokens (first, count) that make up the sentences, in order, covering every token.</param>
/// <param name="Truncated">The text had more tokens than the scorer's window; only the first ones were read.</param>
public sealed record ScoredText(IReadOnlyList<string> Pieces, TokenScores Scores, IReadOnlyList<(int First, int Count)> Sentences, bool Truncated)
{
    /// <summary>The whole text's analytical discrepancy; NaN for fewer than two tokens.</summary>
    public double Score => Scores.Discrepancy();
}

/// <summary>
/// Texts in, <see cref="ScoredText"/> out: tokenizes with GPT-2's tokenizer, cuts at the model's window, scores in one
/// batched pass (<see cref="ZeroShotScorer"/>) and splits sentences. Same threading rule as the scorer.
/// </summary>
public sealed class TextScorer(Gpt2LMHeadModel model, Gpt2Tokenizer tokenizer)
{
    readonly ZeroShotScorer _scorer = new(model);

    public int Window => _scorer.Window;

    public IReadOnlyList<ScoredText> Score(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var ids = texts.Select(t => tokenizer.Encode(t ?? throw new ArgumentNullException(nameof(texts), "a text is null"))).ToList();
        var truncated = ids.Select(x => x.Length > Window).ToList();
        var cut = ids.Select(x => x.Length > Window ? x[..Window] : x).ToList();
        var nonEmpty = Enumerable.Range(0, cut.Count).Where(i => cut[i].Length > 0).ToList();
        var scored = _scorer.Score(nonEmpty.Select(i => cut[i]).ToList(), cancellationToken);
        var results = new ScoredText[texts.Count];
        for (int i = 0; i < texts.Count; i++)
            results[i] = new ScoredText([], new TokenScores([], [], [], [], []), [], truncated[i]);
        for (int k = 0; k < nonEmpty.Count; k++)
        {
            int i = nonEmpty[k];
            var pieces = Pieces(cut[i]);
            results[i] = new ScoredText(pieces, scored[k], Sentences(pieces), truncated[i]);
        }
        return results;
    }

    List<string> Pieces(int[] ids)
    {
        var decoder = tokenizer.CreateStreamingDecoder();
        var pieces = ids.Select(decoder.Push).ToList();
        pieces[^1] += decoder.Flush();
        return pieces;
    }

    static readonly char[] SentenceEnds = ['.', '!', '?', '…', '。', '！', '？'];
    static readonly char[] Closers = ['"', '\'', ')', ']', '”', '’', '»'];

    /// <summary>
    /// Splits token pieces into sentences: a sentence ends after a piece holding a line break, or after a piece that
    /// ends in . ! ? … (quotes and brackets after them allowed) when the next piece starts with white space or there
    /// is none; so "3.5" and "e.g.x" stay whole. Every token belongs to exactly one sentence.
    /// </summary>
    public static IReadOnlyList<(int First, int Count)> Sentences(IReadOnlyList<string> pieces)
    {
        var sentences = new List<(int, int)>();
        int first = 0;
        for (int i = 0; i < pieces.Count; i++)
        {
            string piece = pieces[i];
            bool last = i == pieces.Count - 1;
            bool ends = piece.Contains('\n')
                || (piece.TrimEnd().TrimEnd(Closers).Length > 0 && SentenceEnds.Contains(piece.TrimEnd().TrimEnd(Closers)[^1])
                    && (last || char.IsWhiteSpace(pieces[i + 1][0]) || char.IsWhiteSpace(piece[^1])));
            if (ends || last)
            {
                sentences.Add((first, i - first + 1));
                first = i + 1;
            }
        }
        return sentences;
    }
}
