using GanBertBots.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.GanBert;

/// <summary>Encoded texts padded to the longest of them: ids [B, T] and attention mask [B, T] (1 real, 0 padding).</summary>
public static class TokenBatch
{
    public static (Tensor Ids, Tensor Mask) Create(IReadOnlyList<EncodedText> texts, int padId, Device device)
    {
        if (texts.Count == 0) throw new ArgumentException("a batch needs at least one text", nameof(texts));
        int t = texts.Max(x => x.Ids.Length);
        var ids = new long[texts.Count * t];
        var mask = new long[texts.Count * t];
        for (int b = 0; b < texts.Count; b++)
        {
            var row = texts[b].Ids;
            for (int i = 0; i < t; i++)
            {
                ids[b * t + i] = i < row.Length ? row[i] : padId;
                mask[b * t + i] = i < row.Length ? 1 : 0;
            }
        }
        return (tensor(ids, new long[] { texts.Count, t }).to(device), tensor(mask, new long[] { texts.Count, t }).to(device));
    }
}
