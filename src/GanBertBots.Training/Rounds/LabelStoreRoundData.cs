using System.Security.Cryptography;
using System.Text;
using GanBertBots.Storage;

namespace GanBertBots.Training.Rounds;

/// <summary>
/// A round's data from the label store: every label (moderator, user feedback, game guess, with their weights) and
/// the unlabelled user-submitted texts. Labelled texts whose content hash falls in the held-out share are kept out
/// of training for the gate: the split depends only on the text, so a text stays on its side in every round.
/// </summary>
public sealed class LabelStoreRoundData(ILabelStore store, double heldOutFraction, int maxUnlabelled) : IRoundDataSource
{
    public async Task<RoundData> LoadAsync(CancellationToken cancellation)
    {
        var train = new List<LabelledText>();
        var heldOut = new List<LabelledText>();
        await foreach (var label in store.ExportLabelsAsync(cancellation: cancellation))
        {
            var text = new LabelledText(label.Text, label.Class, label.Weight, SourceName(label.Source));
            (IsHeldOut(label.Text, heldOutFraction) ? heldOut : train).Add(text);
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
    public static bool IsHeldOut(string text, double fraction)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        ulong bucket = BitConverter.ToUInt64(hash[..8]);
        return bucket / (double)ulong.MaxValue < fraction;
    }

    static string SourceName(LabelSource source) => source switch
    {
        LabelSource.Moderator => "moderator",
        LabelSource.UserFeedback => "user_feedback",
        _ => "game_guess",
    };
}
