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
    public Task<DetectorEvaluation> EvaluateAsync(string detectorDirectory, IReadOnlyList<LabelledText> heldOut, string reportDirectory,
        CancellationToken cancellation) => throw Missing(nameof(IDetectorTrainer));
    public Task TrainAsync(GeneratorTrainingRequest request, CancellationToken cancellation) => throw Missing(nameof(IGeneratorTrainer));
    public Task<GeneratorEvaluation> EvaluateAsync(string generatorDirectory, string detectorDirectory, int seed, CancellationToken cancellation) =>
        throw Missing(nameof(IGeneratorTrainer));
}

/// <summary>Default hot swap: logs that a restart is needed (the host replaces it with the inference service's swap).</summary>
sealed class LoggingHotSwap(ILogger<LoggingHotSwap> log) : IModelHotSwap
{
    public Task SwapAsync(string modelName, string version, string directory, CancellationToken cancellation)
    {
        log.LogWarning("{Model} {Version} is live in the registry; no hot swap is registered, so the service picks it up at restart",
            modelName, version);
        return Task.CompletedTask;
    }
}

/// <summary>Default notifier: writes the report to the log (the host replaces it with the moderators' chats).</summary>
sealed class LoggingRoundNotifier(ILogger<LoggingRoundNotifier> log) : IRoundNotifier
{
    public Task RoundFinishedAsync(RoundReport report, CancellationToken cancellation)
    {
        log.LogInformation("{Report}", report.ToMarkdown());
        return Task.CompletedTask;
    }
}
