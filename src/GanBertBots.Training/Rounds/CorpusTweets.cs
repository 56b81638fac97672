using System.Text.RegularExpressions;
using GanBertBots.Storage;
using GanBertBots.Training.Generator;

namespace GanBertBots.Training.Rounds;

/// <summary>
/// The real tweets of a round: texts imported with <c>import-corpus</c> (origin <see cref="TextOrigin.Corpus"/>) that people
/// wrote (<see cref="StoredText.IsHumanCorpusText"/>); corpus texts a machine wrote, or whose writer is unknown, are never
/// taken for real ones (a round keeps the detector's class set, so machine-written corpus texts are left out). At most <paramref name="max"/> of them, always the same ones (the smallest selection hashes, see
/// <see cref="LabelStoreRoundData.SelectionKey"/>), split into training and held-out sides by the same content hash as labels
/// (<see cref="LabelStoreRoundData.IsHeldOut"/>), so a text never changes side between rounds or between the two models.
/// </summary>
/// <param name="class">The detector class of a corpus text ("human").</param>
/// <param name="weight">How much a corpus text counts in the detector's loss.</param>
public sealed class CorpusTweets(ILabelStore store, double heldOutFraction, int max, string @class = "human", double weight = 1.0)
{
    const int PageSize = 1000;

    public string Class { get; } = @class;
    public double Weight { get; } = weight;
    public double HeldOutFraction { get; } = heldOutFraction;

    /// <summary>The chosen corpus texts, in selection order (independent of import order).</summary>
    public async Task<IReadOnlyList<string>> SelectAsync(CancellationToken cancellation)
    {
        if (max <= 0) return [];
        // The max smallest keys, kept in a max-heap while paging through the corpus.
        var kept = new PriorityQueue<string, ulong>(max, Comparer<ulong>.Create((a, b) => b.CompareTo(a)));
        long after = 0;
        while (true)
        {
            var page = await store.GetTextsAsync(TextOrigin.Corpus, PageSize, after, cancellation);
            if (page.Count == 0) break;
            foreach (var text in page)
            {
                if (!text.IsHumanCorpusText) continue;
                ulong key = LabelStoreRoundData.SelectionKey(text.Content);
                if (kept.Count < max) kept.Enqueue(text.Content, key);
                else if (kept.TryPeek(out _, out ulong largest) && key < largest) kept.DequeueEnqueue(text.Content, key);
            }
            after = page[^1].Id;
        }
        return kept.UnorderedItems.OrderBy(i => i.Priority).ThenBy(i => i.Element, StringComparer.Ordinal).Select(i => i.Element).ToList();
    }

    /// <summary>
    /// The chosen texts as the generator's real tweets: the training side for its maximum-likelihood term, the held-out side
    /// for perplexity. A tweet's keyword is the first of <paramref name="keywords"/> it contains as a word (the disaster
    /// corpus was collected by keyword search), else none.
    /// </summary>
    public async Task<RealTweets> LoadRealTweetsAsync(IReadOnlyList<string> keywords, CancellationToken cancellation)
    {
        var finder = new KeywordFinder(keywords);
        var train = new List<TweetExample>();
        var heldOut = new List<TweetExample>();
        foreach (string text in await SelectAsync(cancellation))
            (LabelStoreRoundData.IsHeldOut(text, HeldOutFraction) ? heldOut : train).Add(new TweetExample(finder.KeywordOf(text), text));
        return new RealTweets(train, heldOut);
    }

    /// <summary>Finds the first keyword (in the given order) that a text contains as a whole word, ignoring case.</summary>
    public sealed class KeywordFinder(IReadOnlyList<string> keywords)
    {
        readonly (string Keyword, Regex Pattern)[] _patterns = keywords
            .Select(k => (k, new Regex(@"(?<![\p{L}\p{N}])" + Regex.Escape(Uri.UnescapeDataString(k).Trim().TrimStart('#')) + @"(?![\p{L}\p{N}])",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)))
            .ToArray();

        public string? KeywordOf(string text) => _patterns.FirstOrDefault(p => p.Pattern.IsMatch(text)).Keyword;
    }
}
