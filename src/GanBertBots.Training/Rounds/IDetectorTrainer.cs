using GanBertBots.Models.GanBert;

namespace GanBertBots.Training.Rounds;

// The steps of one adversarial round that need a model. The trainers implement them; the round
// (AdversarialRound) only orders them, gates, registers, promotes and reports. Every directory handed
// to a step is either a registered (read-only) version or a folder inside the round's scratch folder.

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
public sealed record DetectorScore(double MacroF1, double Accuracy, string? ConfusionMatrixPng = null)
{
    /// <summary>Macro-F1 of always answering the most frequent held-out class (from <see cref="Gate"/>); NaN when not measured.</summary>
    public double BaselineMacroF1 => Gate?.BaselineMacroF1 ?? double.NaN;
    /// <summary>Expected calibration error (15 bins) of the served P(person) on the held-out texts; NaN when not measured.</summary>
    public double Ece { get; init; } = double.NaN;
    /// <summary>Brier score of the served P(person) on the held-out texts; NaN when not measured.</summary>
    public double Brier { get; init; } = double.NaN;
    /// <summary>The same figures against the majority baseline, as a checkpoint stores them (judged at margin 0: the round
    /// judges them with its own margin); null when the trainer did not measure them, and then the round has no baseline to hold
    /// the candidate to.</summary>
    public GateFigures? Gate { get; init; }
    /// <summary>Per-class or other numbers worth reporting (e.g. "f1_human").</summary>
    public IReadOnlyDictionary<string, double> Extra { get; init; } = new Dictionary<string, double>();
}

/// <summary>Steps 2 and 4 for the detector. Implemented by the detector trainer.</summary>
public interface IDetectorTrainer
{
    /// <summary>Trains a candidate into <see cref="DetectorTrainingRequest.OutputDirectory"/>; honours cancellation between steps.</summary>
    Task TrainAsync(DetectorTrainingRequest request, CancellationToken cancellation);

    /// <summary>Scores a detector checkpoint on held-out labelled texts (called for the live one and the candidate).</summary>
    Task<DetectorScore> EvaluateAsync(string detectorDirectory, IReadOnlyList<WeightedText> heldOut,
        string reportDirectory, CancellationToken cancellation);
}
