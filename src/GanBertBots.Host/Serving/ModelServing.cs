using GanBertBots.Inference;
using GanBertBots.Models.GanBert;
using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Host.Serving;

/// <summary>
/// The one owner of what the service serves. At start: every model with a live version in the registry is loaded from
/// the registry (through <see cref="LiveModelSync"/>, which then follows promotions and rollbacks made here, in the CLI or
/// on another replica); <c>Models:Generator</c>/<c>Models:Detector</c> are only the seed for a model the registry has no
/// live version of, or for every model when retraining (and with it the registry) is off.
/// </summary>
public sealed class ModelServing(InferenceService inference, ModelsOptions models, InferenceOptions inferenceOptions,
    ILogger<ModelServing> log, LiveModelSync? registry = null, BaseEncoderFolders? encoders = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (registry is not null) await registry.SyncAsync(cancellationToken);
        bool generatorLive = registry?.Loaded(ModelNames.Generator) is not null;
        bool detectorLive = registry?.Loaded(ModelNames.Detector) is not null;
        if (generatorLive) log.LogInformation("Serving the registry's live generator {Version}", registry!.Loaded(ModelNames.Generator));
        if (detectorLive) log.LogInformation("Serving the registry's live detector {Version}", registry!.Loaded(ModelNames.Detector));
        await ServedModels.LoadAsync(inference, models, inferenceOptions, log, generator: !generatorLive, detector: !detectorLive,
            encoderDirectories: encoders?.Directories);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
