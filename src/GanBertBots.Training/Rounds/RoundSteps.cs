namespace GanBertBots.Training.Rounds;

// The steps of one adversarial round that need a model. The trainers implement them; the round
// (AdversarialRound) only orders them, gates, registers, promotes and reports. Every directory handed
// to a step is either a registered (read-only) version or a folder inside the round's scratch folder.

/// <summary>Names of the two models in the registry.</summary>
public static class ModelNames
{
    public const string Generator = "generator";
    public const string Detector = "detector";
}

/// <summary>A text with a class and how much it counts ("human", "gpt2", ...).</summary>
public sealed record LabelledText(string Text, string Class, double Weight, string Source);

/// <summary>What the detector learns from this round (step 2), gathered from the label store.</summary>
/// <param name="Labelled">Moderator labels (weight 1) and the weaker user-feedback and game labels (their weights).</param>
/// <param name="Unlabelled">User-submitted texts nobody labelled (the GAN-BERT unlabelled term).</param>
/// <param name="HeldOut">Labelled texts kept out of training, for the gate: the same split every round.</param>
public sealed record RoundData(
    IReadOnlyList<LabelledText> Labelled, IReadOnlyList<string> Unlabelled, IReadOnlyList<LabelledText> HeldOut);

/// <summary>Gathers <see cref="RoundData"/>; the default reads the label store (<see cref="LabelStoreRoundData"/>).</summary>
public interface IRoundDataSource
{
    Task<RoundData> LoadAsync(CancellationToken cancellation);
}

/// <summary>Step 1: sample tweets from the live generator.</summary>
public interface IGeneratorSampler
{
    /// <param name="generatorDirectory">The live generator's checkpoint folder (read-only).</param>
    /// <param name="count">How many tweets (keyword prompts drawn from the corpus).</param>
    /// <param name="seed">Fixed per round, so a round can be replayed.</param>
    Task<IReadOnlyList<string>> SampleAsync(string generatorDirectory, int count, int seed, CancellationToken cancellation);
}

/// <summary>Step 2 input: retrain the detector starting from the live one.</summary>
/// <param name="LiveDetectorDirectory">The live detector's checkpoint (read-only): the starting point.</param>
/// <param name="OutputDirectory">Empty scratch folder: write the complete candidate checkpoint here.</param>
/// <param name="Data">Labels, unlabelled texts (held-out texts must not be trained on).</param>
/// <param name="GeneratorSamples">Fresh samples from the live generator: the generator's own class.</param>
/// <param name="GeneratorClass">That class's name ("gpt2").</param>
/// <param name="ReportDirectory">Folder for plots the trainer wants in the report (training curves, confusion matrix PNG).</param>
public sealed record DetectorTrainingRequest(
    string LiveDetectorDirectory, string OutputDirectory, RoundData Data, IReadOnlyList<string> GeneratorSamples,
    string GeneratorClass, string ReportDirectory, int Seed);

/// <summary>A detector's quality on held-out labelled texts.</summary>
/// <param name="MacroF1">Macro-averaged F1 over the classes present in the held-out set (0..1).</param>
/// <param name="Accuracy">0..1.</param>
/// <param name="ConfusionMatrixPng">A confusion matrix plot, when the trainer drew one (copied into the report).</param>
public sealed record DetectorEvaluation(double MacroF1, double Accuracy, string? ConfusionMatrixPng = null)
{
    /// <summary>Per-class or other numbers worth reporting (e.g. "f1_human").</summary>
    public IReadOnlyDictionary<string, double> Extra { get; init; } = new Dictionary<string, double>();
}

/// <summary>Steps 2 and 4 for the detector. Implemented by the detector trainer.</summary>
public interface IDetectorTrainer
{
    /// <summary>Trains a candidate into <see cref="DetectorTrainingRequest.OutputDirectory"/>; honours cancellation between steps.</summary>
    Task TrainAsync(DetectorTrainingRequest request, CancellationToken cancellation);

    /// <summary>Scores a detector checkpoint on held-out labelled texts (called for the live one and the candidate).</summary>
    Task<DetectorEvaluation> EvaluateAsync(string detectorDirectory, IReadOnlyList<LabelledText> heldOut,
        string reportDirectory, CancellationToken cancellation);
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
public sealed record GeneratorEvaluation(double Perplexity, double FoolRate)
{
    public IReadOnlyDictionary<string, double> Extra { get; init; } = new Dictionary<string, double>();
}

/// <summary>Steps 3 and 4 for the generator. Implemented by the generator trainer (policy gradient).</summary>
public interface IGeneratorTrainer
{
    Task TrainAsync(GeneratorTrainingRequest request, CancellationToken cancellation);

    /// <summary>Held-out perplexity of <paramref name="generatorDirectory"/> and its fool rate against <paramref name="detectorDirectory"/>.</summary>
    Task<GeneratorEvaluation> EvaluateAsync(string generatorDirectory, string detectorDirectory, int seed, CancellationToken cancellation);
}

/// <summary>Step 5: told after a promotion, so the running service swaps its model handles without a restart.</summary>
public interface IModelHotSwap
{
    /// <param name="modelName"><see cref="ModelNames.Generator"/> or <see cref="ModelNames.Detector"/>.</param>
    /// <param name="version">The version now live.</param>
    /// <param name="directory">Its checkpoint folder in the registry.</param>
    Task SwapAsync(string modelName, string version, string directory, CancellationToken cancellation);
}

/// <summary>Step 6: hands the round's report to people (the conversation core posts it to the moderators' chats).</summary>
public interface IRoundNotifier
{
    Task RoundFinishedAsync(RoundReport report, CancellationToken cancellation);
}
