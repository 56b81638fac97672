using static TorchSharp.torch;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// A generation's decoding steps over one <see cref="KvCache"/>: one new token per sequence in, the
/// next-token logits out. The generator makes one per generation, after the prompt, and picks the
/// implementation explicitly: <see cref="TorchDecodeStep"/>, or the CPU kernels from
/// <see cref="Gpt2CpuDecoder.TryBegin"/>. Dispose it on the thread that made it, when the generation ends.
/// </summary>
public interface IDecodeStep : IDisposable
{
    /// <summary>
    /// Feeds one token per row, appends its keys and values to the cache at the cache's length, advances
    /// the cache by one, and returns the next-token logits.
    /// </summary>
    /// <param name="ids">[R, 1] token ids.</param>
    /// <param name="positions">[R, 1] position ids (left-padded rows count from their first real token), or null for the cache's length.</param>
    /// <param name="paddingMask">[R, S], S = cache length + 1: 1 where a row may attend (its real tokens), 0 at padding; or null for all.</param>
    /// <returns>Logits [R, V].</returns>
    Tensor Next(Tensor ids, Tensor? positions, Tensor? paddingMask);
}

/// <summary>Decoding steps on torch: <see cref="Gpt2LMHeadModel.Forward"/> for the last position, whatever the device, dtype or batch.</summary>
public sealed class TorchDecodeStep(Gpt2LMHeadModel model, KvCache cache) : IDecodeStep
{
    public Tensor Next(Tensor ids, Tensor? positions, Tensor? paddingMask)
    {
        using var scope = NewDisposeScope();
        return model.Forward(ids, positions, paddingMask, cache, lastOnly: true).squeeze(1).MoveToOuterDisposeScope();   // [R, V]
    }

    public void Dispose() { }
}
