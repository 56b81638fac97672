using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Training.Scheduling;

/// <summary>
/// Stand-ins registered by <see cref="RetrainingServiceCollectionExtensions.AddRetraining"/> until the host registers
/// the real trainers: a round that reaches them fails with a sentence saying what to register.
/// </summary>
sealed class StepsNotConfigured : IGeneratorSampler, IDetectorTrainer, IGeneratorTrainer
{
    static Exception Missing(string what) =>
        new InvalidOperationException($"no {what} is registered in this host (services.AddSingleton<{what}, ...>)");

    public Task<IReadOnlyList<string>> SampleAsync(string generatorDirectory, int count, int seed, CancellationToken cancellation) =>
        throw Missing(nameof(IGeneratorSampler));
    public Task TrainAsync(DetectorTrainingRequest request, CancellationToken cancellation) => throw Missing(nameof(IDetectorTrainer));
    public Task<DetectorScore> EvaluateAsync(string detectorDirectory, IReadOnlyList<WeightedText> heldOut, string reportDirectory,
        CancellationToken cancellation) => throw Missing(nameof(IDetectorTrainer));
    public Task TrainAsync(GeneratorTrainingRequest request, CancellationToken cancellation) => throw Missing(nameof(IGeneratorTrainer));
    public Task<GeneratorScore> EvaluateAsync(string generatorDirectory, string detectorDirectory, int seed, CancellationToken cancellation) =>
        throw Missing(nameof(IGeneratorTrainer));
}
