using System.Security.Cryptography;
using System.Text;
using GanBertBots.Storage;

namespace GanBertBots.Training.Rounds;

/// <summary>
/// A round's data from the label store: every label (moderator, user feedback, game guess, with their weights), the
/// unlabelled user-submitted texts and, when <paramref name="corpus"/> is given, the imported corpus texts people wrote as
/// labelled texts of its class (source "corpus"; see <see cref="CorpusTweets"/>: machine-written corpus texts are never trained as human). Labelled texts whose content hash falls in the held-out share are kept out of training
/// for the gate: the split depends only on the text, so a text stays on its side in every round.
/// A corpus text a moderator labelled counts with the moderator's label instead of the corpus class; user feedback and game
/// guesses on corpus texts are left out (the corpus already says who wrote them).
/// </summary>
public sealed class LabelStoreRoundData(ILabelStore store, double heldOutFraction, int maxUnlabelled, CorpusTweets? corpus = null)
    : IRoundDataSource
{
    /// <summary>The source name of corpus texts in <see cref="WeightedText.Source"/>.</summary>
    public const string CorpusSource = "corpus";
    /// <summary>The source name of moderators' labels in <see cref="WeightedText.Source"/>.</summary>
    public const string ModeratorSource = "moderator";

    public async Task<RoundData> LoadAsync(CancellationToken cancellation)
    {
        var train = new List<WeightedText>();
        var heldOut = new List<WeightedText>();
        var moderated = new HashSet<string>(StringComparer.Ordinal);    // corpus texts with a moderator's label
        await foreach (var label in store.ExportLabelsAsync(cancellation: cancellation))
        {
            if (corpus is not null && label.Origin == TextOrigin.Corpus)
            {
                if (label.Source != LabelSource.Moderator) continue;
                moderated.Add(label.Text);
            }
            var text = new WeightedText(label.Text, label.Class, label.Weight, SourceName(label.Source));
            (IsHeldOut(label.Text, heldOutFraction) ? heldOut : train).Add(text);
        }
        if (corpus is not null)
            foreach (string content in await corpus.SelectAsync(cancellation))
            {
                if (moderated.Contains(content)) continue;
                var text = new WeightedText(content, corpus.Class, corpus.Weight, CorpusSource);
                (IsHeldOut(content, heldOutFraction) ? heldOut : train).Add(text);
            }
        var unlabelled = new List<string>();
        long after = 0;
        while (unlabelled.Count < maxUnlabelled)
        {
            var page = await store.GetUnlabelledTextsAsync(Math.Min(1000, maxUnlabelled - unlabelled.Count), after, cancellation: cancellation);
            if (page.Count == 0) break;
            unlabelled.AddRange(page.Select(t => t.Content));
            after = page[^1].Id;
        }
        return new RoundData(train, unlabelled, heldOut);
    }

    /// <summary>Whether a text belongs to the held-out share (first 8 bytes of its SHA-256 as a fraction of 2^64).</summary>
    public static bool IsHeldOut(string text, double fraction) => HashWord(text, 0) / (double)ulong.MaxValue < fraction;

    /// <summary>
    /// Whether a labelled text belongs to the calibration share: kept out of the round's training to fit the candidate
    /// detector's calibration (bytes 16..24 of the SHA-256, independent of the held-out and selection bytes).
    /// </summary>
    public static bool IsCalibration(string text, double fraction) => HashWord(text, 2) / (double)ulong.MaxValue < fraction;

    /// <summary>
    /// Which corpus texts a round takes when there are more than it may use: the smallest keys (bytes 8..16 of the
    /// SHA-256, independent of the held-out bytes, so the chosen texts split like all texts).
    /// </summary>
    public static ulong SelectionKey(string text) => HashWord(text, 1);

    static ulong HashWord(string text, int word)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return BitConverter.ToUInt64(hash.Slice(word * 8, 8));
    }

    static string SourceName(LabelSource source) => source switch
    {
        LabelSource.Moderator => ModeratorSource,
        LabelSource.UserFeedback => "user_feedback",
        _ => "game_guess",
    };
}
