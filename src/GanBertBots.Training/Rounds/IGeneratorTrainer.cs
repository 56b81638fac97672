namespace GanBertBots.Training.Rounds;

// The steps of one adversarial round that need a model. The trainers implement them; the round
// (AdversarialRound) only orders them, gates, registers, promotes and reports. Every directory handed
// to a step is either a registered (read-only) version or a folder inside the round's scratch folder.

/// <summary>Step 1: sample tweets from the live generator.</summary>
public interface IGeneratorSampler
{
    /// <param name="generatorDirectory">The live generator's checkpoint folder (read-only).</param>
    /// <param name="count">How many tweets (keyword prompts drawn from the corpus).</param>
    /// <param name="seed">Fixed per round, so a round can be replayed.</param>
    Task<IReadOnlyList<string>> SampleAsync(string generatorDirectory, int count, int seed, CancellationToken cancellation);
}

/// <summary>Step 3 input: fine-tune the generator against the new detector.</summary>
/// <param name="LiveGeneratorDirectory">The live generator (read-only): the starting point and the KL reference.</param>
/// <param name="DetectorDirectory">The candidate detector from step 2 (its P(human) is the reward).</param>
/// <param name="OutputDirectory">Empty scratch folder: write the complete candidate checkpoint here.</param>
/// <param name="ReportDirectory">Folder for plots (reward, KL, loss curves).</param>
public sealed record GeneratorTrainingRequest(
    string LiveGeneratorDirectory, string DetectorDirectory, string OutputDirectory, string ReportDirectory, int Seed);

/// <summary>A generator's quality: held-out perplexity on real tweets, and how often it fools a detector.</summary>
/// <param name="Perplexity">exp(mean token NLL) on the held-out real tweets.</param>
/// <param name="FoolRate">Share of sampled tweets the detector judged human (0..1).</param>
public sealed record GeneratorScore(double Perplexity, double FoolRate)
{
    public IReadOnlyDictionary<string, double> Extra { get; init; } = new Dictionary<string, double>();
}

/// <summary>Steps 3 and 4 for the generator. Implemented by the generator trainer (policy gradient).</summary>
public interface IGeneratorTrainer
{
    Task TrainAsync(GeneratorTrainingRequest request, CancellationToken cancellation);

    /// <summary>Held-out perplexity of <paramref name="generatorDirectory"/> and its fool rate against <paramref name="detectorDirectory"/>.</summary>
    Task<GeneratorScore> EvaluateAsync(string generatorDirectory, string detectorDirectory, int seed, CancellationToken cancellation);
}
