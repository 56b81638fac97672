using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Training.Generator;

/// <summary>The causal language-model objective on tweets, shared by training and fine-tuning.</summary>
public static class CausalLm
{
    /// <summary>Target value that the loss skips (padding).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>"&lt;|endoftext|&gt;keyword: tweet&lt;|endoftext|&gt;" as ids, cut to <paramref name="maxTokens"/>.</summary>
    public static int[] Encode(Gpt2Tokenizer tokenizer, TweetExample e, int maxTokens)
    {
        var ids = new List<int> { tokenizer.EndOfTextId };
        ids.AddRange(tokenizer.Encode(TweetComposer.TrainingText(e.Keyword, e.Text)));
        ids.Add(tokenizer.EndOfTextId);
        return ids.Count > maxTokens ? ids.Take(maxTokens).ToArray() : ids.ToArray();
    }

    /// <summary>Right-padded inputs [B, T] and next-token targets [B, T] (<see cref="IgnoreIndex"/> where there is nothing to predict).</summary>
    public static (Tensor Inputs, Tensor Targets) Batch(IReadOnlyList<int[]> rows, int padId, Device device)
    {
        int t = rows.Max(r => r.Length) - 1;
        var inputs = new long[rows.Count * t];
        var targets = new long[rows.Count * t];
        for (int r = 0; r < rows.Count; r++)
            for (int j = 0; j < t; j++)
            {
                inputs[r * t + j] = j < rows[r].Length ? rows[r][j] : padId;
                targets[r * t + j] = j + 1 < rows[r].Length ? rows[r][j + 1] : IgnoreIndex;
            }
        return (tensor(inputs, new long[] { rows.Count, t }, device: device), tensor(targets, new long[] { rows.Count, t }, device: device));
    }

    /// <summary>Cross-entropy of next-token prediction over the batch's real tokens (mean or sum).</summary>
    public static Tensor Loss(Gpt2LMHeadModel model, IReadOnlyList<int[]> rows, int padId, nn.Reduction reduction = nn.Reduction.Mean)
    {
        var (inputs, targets) = Batch(rows, padId, model.Device);
        var logits = model.forward(inputs);                                                    // [B, T, V]
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1), ignore_index: IgnoreIndex, reduction: reduction);
    }

    /// <summary>Number of predicted (non-padding) tokens in a batch of rows.</summary>
    public static long PredictedTokens(IReadOnlyList<int[]> rows) => rows.Sum(r => (long)Math.Max(0, r.Length - 1));
}
