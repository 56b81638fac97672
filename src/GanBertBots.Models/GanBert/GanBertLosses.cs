using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.GanBert;

/// <summary>The discriminator's loss and its parts (scalars).</summary>
public sealed record DiscriminatorLoss(Tensor Total, Tensor Supervised, Tensor Real, Tensor Fake) : IDisposable
{
    public void Dispose() { Total.Dispose(); Supervised.Dispose(); Real.Dispose(); Fake.Dispose(); }
}

/// <summary>
/// GAN-BERT's losses (Croce et al. 2020), with p = softmax over the k+1 logits and ε = 1e-8:
/// <list type="bullet">
/// <item>L_sup = cross-entropy over the k real logits on labelled rows only; 0 when none are labelled;</item>
/// <item>L_real = −mean log(1 − p_fake(real) + ε); L_fake = −mean log(p_fake(G(z)) + ε); L_D = L_sup + L_real + L_fake;</item>
/// <item>L_G = −mean log(1 − p_fake(G(z)) + ε) + mean over dims of (mean f_real − mean f_fake)².</item>
/// </list>
/// </summary>
public static class GanBertLosses
{
    public const double Epsilon = 1e-8;

    /// <summary>Cross-entropy over the first k logits of the rows where <paramref name="labelMask"/> is true; a 0 scalar when none are.</summary>
    /// <param name="logits">[N, k+1]</param>
    /// <param name="labels">[N] int64 class index (any value on unlabelled rows)</param>
    /// <param name="labelMask">[N] bool</param>
    public static Tensor Supervised(Tensor logits, Tensor labels, Tensor labelMask)
    {
        long k = logits.shape[1] - 1;
        var logp = logits.narrow(1, 0, k).log_softmax(-1);                          // [N, k]
        var safeLabels = labels.masked_fill(labelMask.logical_not(), 0);             // unlabelled rows point anywhere valid
        var picked = logp.gather(1, safeLabels.unsqueeze(1)).squeeze(1);            // [N]
        var mask = labelMask.to(logits.dtype);
        var count = mask.sum();
        // sum over labelled rows / max(count, 1): exactly 0 (and gradient 0) when the batch has no labels.
        return -(picked * mask).sum() / count.clamp_min(1);
    }

    /// <summary>p_fake for each row: softmax over the k+1 logits, last column. [N, k+1] -> [N].</summary>
    public static Tensor FakeProbability(Tensor logits) => logits.softmax(-1).select(1, logits.shape[1] - 1);

    /// <param name="realLogits">[N, k+1] the discriminator on encoder outputs</param>
    /// <param name="fakeLogits">[M, k+1] the discriminator on generator outputs (detached from G)</param>
    public static DiscriminatorLoss Discriminator(Tensor realLogits, Tensor fakeLogits, Tensor labels, Tensor labelMask)
    {
        var sup = Supervised(realLogits, labels, labelMask);
        var real = -(1 - FakeProbability(realLogits) + Epsilon).log().mean();
        var fake = -(FakeProbability(fakeLogits) + Epsilon).log().mean();
        return new DiscriminatorLoss(sup + real + fake, sup, real, fake);
    }

    /// <param name="fakeLogits">[M, k+1] the discriminator on generator outputs (not detached)</param>
    /// <param name="realFeatures">[N, H] the discriminator's features on real rows (detached: G's loss must not move the encoder)</param>
    /// <param name="fakeFeatures">[M, H] its features on the generator's outputs</param>
    public static Tensor Generator(Tensor fakeLogits, Tensor realFeatures, Tensor fakeFeatures)
    {
        var adversarial = -(1 - FakeProbability(fakeLogits) + Epsilon).log().mean();
        var matching = (realFeatures.mean(new long[] { 0 }) - fakeFeatures.mean(new long[] { 0 })).pow(2).mean();
        return adversarial + matching;
    }
}
