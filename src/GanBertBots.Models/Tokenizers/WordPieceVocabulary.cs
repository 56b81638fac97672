using System.Text;

namespace GanBertBots.Models.Tokenizers;

/// <summary>
/// Builds a WordPiece <c>vocab.txt</c> from the training texts themselves, so the small backbone (trained from scratch)
/// needs no downloaded vocabulary: the offline default when <c>--vocab</c> is not given.
/// <para>What goes in, in this order: BERT's five special tokens; every character seen, alone and as a "##" continuation
/// (so greedy longest-match WordPiece can spell any word from the data without [UNK]); the most frequent whole words
/// (after BERT's basic tokenization: lower-cased, accents stripped, punctuation split off); then, with the room left, the
/// most frequent word starts (3–6 characters) and "##" endings (2–5 characters) of the words that did not make it.
/// Ties break by ordinal order, so the same texts always give the same file.</para>
/// </summary>
public static class WordPieceVocabulary
{
    public static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>Share of the room after characters that whole words may take; the rest goes to word pieces.</summary>
    const double WholeWordShare = 0.7;

    public static IReadOnlyList<string> Build(IEnumerable<string> texts, int maxSize = 8000, bool lowerCase = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, SpecialTokens.Length + 2);
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string text in texts)
            foreach (string word in BertWordPieceTokenizer.BasicTokens(text, lowerCase))
                wordCounts[word] = wordCounts.GetValueOrDefault(word) + 1;

        var vocab = new List<string>(SpecialTokens);
        var seen = new HashSet<string>(SpecialTokens, StringComparer.Ordinal);
        void Add(string token)
        {
            if (vocab.Count < maxSize && seen.Add(token)) vocab.Add(token);
        }

        // Characters by frequency: each alone and as a continuation.
        var charCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (word, count) in wordCounts)
            foreach (var rune in word.EnumerateRunes())
                charCounts[rune.ToString()] = charCounts.GetValueOrDefault(rune.ToString()) + count;
        foreach (string c in ByFrequency(charCounts)) { Add(c); Add("##" + c); }

        // Whole words (single characters are already in).
        int wordRoom = (int)((maxSize - vocab.Count) * WholeWordShare);
        var wholeWords = ByFrequency(wordCounts).Where(w => w.EnumerateRunes().Count() > 1).Take(Math.Max(0, wordRoom)).ToList();
        foreach (string w in wholeWords) Add(w);

        // Pieces of the words left out, weighted by how often those words occur.
        var included = new HashSet<string>(wholeWords, StringComparer.Ordinal);
        var pieceCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (word, count) in wordCounts)
        {
            if (included.Contains(word)) continue;
            var runes = word.EnumerateRunes().Select(r => r.ToString()).ToArray();
            for (int n = 3; n <= 6 && n < runes.Length; n++)
                Count(pieceCounts, string.Concat(runes.Take(n)), count);
            for (int n = 2; n <= 5 && n < runes.Length; n++)
                Count(pieceCounts, "##" + string.Concat(runes.Skip(runes.Length - n)), count);
        }
        foreach (string piece in ByFrequency(pieceCounts).Where(p => pieceCounts[p] > 1)) Add(piece);
        return vocab;
    }

    /// <summary>Writes the vocabulary one token per line (LF), as vocab.txt files are.</summary>
    public static void Write(string path, IReadOnlyList<string> vocab)
    {
        var text = new StringBuilder();
        foreach (string token in vocab) text.Append(token).Append('\n');
        File.WriteAllText(path, text.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    static void Count(Dictionary<string, int> counts, string key, int by) => counts[key] = counts.GetValueOrDefault(key) + by;

    static IEnumerable<string> ByFrequency(Dictionary<string, int> counts) =>
        counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
}
