using GanBertBots.Models.Runtime;
using GanBertBots.Training.Rounds;

namespace GanBertBots.Training.Detector;

// PLACEHOLDER: the real RoundDetectorTrainer is written on branch rounddet; at merge the lead takes that file.
// Only the surface is here, so the round's wiring (AddAdversarialRoundSteps) builds against it.

/// <summary>The detector's settings in the adversarial round (<c>Retraining:Detector</c>).</summary>
public sealed class RoundDetectorOptions
{
    public int Epochs { get; set; } = 2;
    public int BatchSize { get; set; } = 32;
    public double? LearningRate { get; set; }
    public int MaxUnlabelled { get; set; } = 5000;

    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException("Epochs must be at least 1");
        if (BatchSize < 1) throw new ArgumentException("BatchSize must be at least 1");
        if (LearningRate is { } lr && !(lr > 0)) throw new ArgumentException("LearningRate must be positive");
        if (MaxUnlabelled < 0) throw new ArgumentException("MaxUnlabelled must be 0 or more");
    }
}

/// <summary>Steps 2 and 4 of the round for the GAN-BERT detector (placeholder until branch rounddet is merged).</summary>
public sealed class RoundDetectorTrainer(RoundDetectorOptions options, TorchPlacement placement) : IDetectorTrainer
{
    public Task TrainAsync(DetectorTrainingRequest request, CancellationToken cancellation) =>
        throw new NotImplementedException("RoundDetectorTrainer is a placeholder until branch rounddet is merged");

    public Task<Rounds.DetectorEvaluation> EvaluateAsync(string detectorDirectory, IReadOnlyList<Rounds.LabelledText> heldOut, string reportDirectory,
        CancellationToken cancellation) =>
        throw new NotImplementedException($"RoundDetectorTrainer is a placeholder until branch rounddet is merged ({options.Epochs} epochs on {placement})");
}
