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
/// <item>L_sup = cross-entropy over the k real logits on labelled rows only (optionally a weighted mean); 0 when none are labelled;</item>
/// <item>L_real = −mean log(1 − p_fake(real) + ε); L_fake = −mean log(p_fake(G(z)) + ε); L_D = L_sup + L_real + L_fake;</item>
/// <item>L_G = −mean log(1 − p_fake(G(z)) + ε) + λ · mean over dims of (mean f_real − mean f_fake)², λ = 1 in GAN-BERT;</item>
/// <item>not in GAN-BERT: <see cref="SpreadMatching"/>, which the trainer may add to L_G against a collapsed generator.</item>
/// </list>
/// </summary>
public static class GanBertLosses
{
    public const double Epsilon = 1e-8;

    /// <summary>
    /// Cross-entropy over the first k logits of the rows where <paramref name="labelMask"/> is true; a 0 scalar when none are.
    /// With <paramref name="weights"/>: Σ w_i·CE_i / Σ w_i over the labelled rows (a weighted mean), 0 with zero gradient when
    /// Σ w = 0. Without weights (or with every weight 1) the numbers are exactly the unweighted mean's.
    /// </summary>
    /// <param name="logits">[N, k+1]</param>
    /// <param name="labels">[N] int64 class index (any value on unlabelled rows)</param>
    /// <param name="labelMask">[N] bool</param>
    /// <param name="weights">[N] non-negative weight of each row (ignored on unlabelled rows); null = 1 everywhere</param>
    public static Tensor Supervised(Tensor logits, Tensor labels, Tensor labelMask, Tensor? weights = null)
    {
        long k = logits.shape[1] - 1;
        var logp = logits.narrow(1, 0, k).log_softmax(-1);                          // [N, k]
        var safeLabels = labels.masked_fill(labelMask.logical_not(), 0);             // unlabelled rows point anywhere valid
        var picked = logp.gather(1, safeLabels.unsqueeze(1)).squeeze(1);            // [N]
        var mask = labelMask.to(logits.dtype);
        var w = weights is null ? mask : weights.to(logits.dtype) * mask;           // [N], 0 on unlabelled rows
        var total = w.sum();
        // Σ w·CE / Σ w, dividing by 1 when Σ w = 0: exactly 0 (and gradient 0) when no row counts.
        // Unweighted, Σ w is the labelled count, so this is the mean over labelled rows.
        return -(picked * w).sum() / where(total.gt(0), total, ones_like(total));
    }

    /// <summary>p_fake for each row: softmax over the k+1 logits, last column. [N, k+1] -> [N].</summary>
    public static Tensor FakeProbability(Tensor logits) => logits.softmax(-1).select(1, logits.shape[1] - 1);

    /// <param name="realLogits">[N, k+1] the discriminator on encoder outputs</param>
    /// <param name="fakeLogits">[M, k+1] the discriminator on generator outputs (detached from G)</param>
    /// <param name="weights">[N] per-row weights of the supervised term (see <see cref="Supervised"/>); null = unweighted</param>
    public static DiscriminatorLoss Discriminator(Tensor realLogits, Tensor fakeLogits, Tensor labels, Tensor labelMask, Tensor? weights = null)
    {
        var sup = Supervised(realLogits, labels, labelMask, weights);
        var real = -(1 - FakeProbability(realLogits) + Epsilon).log().mean();
        var fake = -(FakeProbability(fakeLogits) + Epsilon).log().mean();
        return new DiscriminatorLoss(sup + real + fake, sup, real, fake);
    }

    /// <param name="fakeLogits">[M, k+1] the discriminator on generator outputs (not detached)</param>
    /// <param name="realFeatures">[N, H] the discriminator's features on real rows (detached: G's loss must not move the encoder)</param>
    /// <param name="fakeFeatures">[M, H] its features on the generator's outputs</param>
    /// <param name="featureMatchingWeight">λ, the weight of the feature-matching term</param>
    public static Tensor Generator(Tensor fakeLogits, Tensor realFeatures, Tensor fakeFeatures, double featureMatchingWeight = 1.0)
    {
        var adversarial = -(1 - FakeProbability(fakeLogits) + Epsilon).log().mean();
        var matching = (realFeatures.mean(new long[] { 0 }) - fakeFeatures.mean(new long[] { 0 })).pow(2).mean();
        return adversarial + featureMatchingWeight * matching; // ×1 is exact: the default gives GAN-BERT's loss bit for bit
    }

    /// <summary>
    /// mean_d (std_d real − std_d fake)² / (mean_d std_d real)², the standard deviations taken across the batch (n − 1): how
    /// far the generator's spread is from the real encoder outputs', relative to the real spread, so a weight means the same
    /// whatever the encoder's scale (a collapsed generator costs about 1). Not in GAN-BERT; the trainer adds it to L_G with
    /// a weight (--spread-matching) against a generator that collapses onto the real mean. A 0 scalar when either side has
    /// one row.
    /// </summary>
    /// <param name="real">[N, H] real encoder outputs (detached: the term must not move the encoder)</param>
    /// <param name="fake">[M, H] generator outputs</param>
    public static Tensor SpreadMatching(Tensor real, Tensor fake)
    {
        if (real.shape[0] < 2 || fake.shape[0] < 2) return zeros(new long[0], dtype: fake.dtype, device: fake.device);
        var realStd = real.std(0);                                                                // [H]
        return (realStd - fake.std(0)).pow(2).mean() / realStd.mean().pow(2).clamp_min(1e-24);   // scalar
    }
}
