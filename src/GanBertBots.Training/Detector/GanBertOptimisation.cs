using GanBertBots.Models.GanBert;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Training.Detector;

/// <summary>Which side of the GAN a step updates (both, in training; one at a time in tests).</summary>
[Flags]
public enum StepParts { Generator = 1, Discriminator = 2, Both = Generator | Discriminator }

/// <summary>What one step measured (losses as numbers, and how the labelled rows were classified).</summary>
public sealed record StepLosses(double Discriminator, double Generator, double Supervised, int Labelled, int Correct);

/// <summary>
/// One optimisation step of GAN-BERT with two AdamW optimisers: one for the encoder and the
/// discriminator, one for the generator. Unlike the reference notebook, the two losses are kept
/// apart: the generator's loss sees the real features detached (so it cannot reach the encoder)
/// and only the generator's optimiser applies its gradients; the discriminator's loss sees the
/// generator's output detached (so it cannot reach the generator), and its gradients are
/// computed after the generator's have been cleared from the discriminator.
/// With <c>adversarial: false</c> it is the same backbone and head trained on L_sup alone.
/// </summary>
public sealed class GanBertOptimisation : IDisposable
{
    readonly GanBertNetwork _network;
    readonly TorchSharp.Modules.AdamW _discriminator;
    readonly TorchSharp.Modules.AdamW _generator;
    readonly torch.Generator? _noise;

    public bool Adversarial { get; }

    /// <param name="noise">Random source for the generator's input; null = torch's global generator.</param>
    public GanBertOptimisation(GanBertNetwork network, double discriminatorLearningRate, double generatorLearningRate, bool adversarial, torch.Generator? noise = null)
    {
        _network = network;
        _noise = noise;
        Adversarial = adversarial;
        _discriminator = optim.AdamW(network.DiscriminatorSide(), discriminatorLearningRate);
        _generator = optim.AdamW(network.GeneratorSide(), generatorLearningRate);
    }

    /// <param name="ids">[B, T] token ids</param>
    /// <param name="mask">[B, T] attention mask</param>
    /// <param name="labels">[B] class index (anything on unlabelled rows)</param>
    /// <param name="labelMask">[B] bool, true on labelled rows</param>
    /// <param name="weights">[B] per-row weights of the supervised loss (a weighted mean over labelled rows); null = unweighted</param>
    public StepLosses Step(Tensor ids, Tensor mask, Tensor labels, Tensor labelMask, StepParts parts = StepParts.Both, Tensor? weights = null)
    {
        using var scope = NewDisposeScope();
        _network.train();
        var pooled = _network.Encoder.forward(ids, mask);                        // [B, H]
        var (realFeatures, realLogits) = _network.Discriminator.forward(pooled);  // [B, H], [B, k+1]
        int labelled = (int)labelMask.sum().item<long>();
        int correct = labelled == 0 ? 0 : (int)realLogits.narrow(1, 0, _network.Discriminator.Classes).argmax(1)
            .eq(labels).logical_and(labelMask).sum().item<long>();

        if (!Adversarial)
        {
            var supervised = GanBertLosses.Supervised(realLogits, labels, labelMask, weights);
            if (parts.HasFlag(StepParts.Discriminator) && labelled > 0)
            {
                _discriminator.zero_grad();
                supervised.backward();
                _discriminator.step();
            }
            double s = supervised.item<float>();
            return new StepLosses(s, 0, s, labelled, correct);
        }

        var fake = _network.Generator.Sample(ids.shape[0], _noise);                        // [B, H]
        // Generator: D judges G(z) with gradients flowing back into G; the real features are constants.
        var (fakeFeatures, fakeLogitsForG) = _network.Discriminator.forward(fake);
        var generatorLoss = GanBertLosses.Generator(fakeLogitsForG, realFeatures.detach(), fakeFeatures);
        // Discriminator: G(z) is a constant input.
        var (_, fakeLogitsForD) = _network.Discriminator.forward(fake.detach());
        using var d = GanBertLosses.Discriminator(realLogits, fakeLogitsForD, labels, labelMask, weights);

        _generator.zero_grad();
        _discriminator.zero_grad();
        generatorLoss.backward();            // fills G's gradients (and D's, which are thrown away below)
        if (parts.HasFlag(StepParts.Generator)) _generator.step();
        _discriminator.zero_grad();          // D and the encoder start clean: nothing of L_G reaches them
        if (parts.HasFlag(StepParts.Discriminator))
        {
            d.Total.backward();
            _discriminator.step();
        }
        return new StepLosses(d.Total.item<float>(), generatorLoss.item<float>(), d.Supervised.item<float>(), labelled, correct);
    }

    public void Save(string directory)
    {
        _discriminator.save_state_dict(Path.Combine(directory, "optimizer-discriminator.bin"));
        _generator.save_state_dict(Path.Combine(directory, "optimizer-generator.bin"));
    }

    /// <summary>Restores both optimisers' state (moments, step counts) when the files are there; returns whether they were.</summary>
    public bool TryLoad(string directory)
    {
        string d = Path.Combine(directory, "optimizer-discriminator.bin"), g = Path.Combine(directory, "optimizer-generator.bin");
        if (!File.Exists(d) || !File.Exists(g)) return false;
        _discriminator.load_state_dict(d);
        _generator.load_state_dict(g);
        return true;
    }

    public void Dispose()
    {
        _discriminator.Dispose();
        _generator.Dispose();
    }
}
