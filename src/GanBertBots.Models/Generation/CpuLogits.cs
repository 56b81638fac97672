using System.Buffers;
using System.Numerics.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Models.Generation;

/// <summary>
/// Greedy choice and the chosen tokens' log-probabilities, read straight from a CPU fp32 [R, V] logits
/// tensor, without libtorch's log-softmax, argmax and gather over the whole vocabulary, which cost a
/// noticeable share of a batch-1 step (docs/decoding.md). Same definitions: the first maximal index
/// (as torch's argmax), and log p = x_c - max - log Σ exp(x - max).
/// </summary>
public static unsafe class CpuLogits
{
    /// <summary>Whether <paramref name="t"/> is a [R, V] contiguous fp32 CPU tensor these methods can read.</summary>
    public static bool Applies(Tensor t) =>
        t.dim() == 2 && t.device_type == TorchSharp.DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous();

    /// <summary>The index of each row's largest value (the first, when several are equal).</summary>
    public static long[] ArgMax(Tensor scores)
    {
        int rows = RowsOf(scores, out int vocab);
        float* data = CpuKernels.Pointer(scores);
        var chosen = new long[rows];
        for (int r = 0; r < rows; r++)
            chosen[r] = TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(data + (long)r * vocab, vocab));
        return chosen;
    }

    /// <summary>log softmax(row r)[chosen[r]] for each row.</summary>
    public static double[] LogProbs(Tensor logits, long[] chosen)
    {
        int rows = RowsOf(logits, out int vocab);
        float* data = CpuKernels.Pointer(logits);
        if (chosen.Length != rows) throw new ArgumentException($"{chosen.Length} chosen ids for {rows} rows");
        var result = new double[rows];
        float[] scratch = ArrayPool<float>.Shared.Rent(vocab);
        try
        {
            var shifted = scratch.AsSpan(0, vocab);
            for (int r = 0; r < rows; r++)
            {
                if ((ulong)chosen[r] >= (ulong)vocab) throw new ArgumentOutOfRangeException(nameof(chosen), chosen[r], $"ids are 0..{vocab - 1}");
                var row = new ReadOnlySpan<float>(data + (long)r * vocab, vocab);
                float max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, shifted);
                TensorPrimitives.Exp(shifted, shifted);
                double logSum = Math.Log(TensorPrimitives.Sum<float>(shifted));
                result[r] = (double)row[(int)chosen[r]] - max - logSum;
            }
        }
        finally { ArrayPool<float>.Shared.Return(scratch); }
        return result;
    }

    static int RowsOf(Tensor t, out int vocab)
    {
        if (!Applies(t)) throw new ArgumentException($"expected a contiguous fp32 CPU [R, V] tensor, got {t.dtype} [{string.Join(", ", t.shape)}] on {t.device}");
        vocab = (int)t.shape[1];
        return (int)t.shape[0];
    }
}
