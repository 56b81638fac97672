using GanBertBots.Inference;
using GanBertBots.Models;
using GanBertBots.Models.Runtime;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Host.Serving;

/// <summary>
/// Loads the configured checkpoints into the inference service. A missing or unreadable directory is logged with what
/// to run, and the service answers the commands that need it with that same sentence instead of failing.
/// </summary>
public static class ServedModels
{
    public static string GeneratorMissing(string dir) =>
        $"The tweet generator is not installed (no checkpoint in '{dir}'). Run `ganbertbots models pull gpt2` (or set Models:Generator) and restart.";

    public static string DetectorMissing(string dir) =>
        $"The detector is not installed (no trained detector in '{dir}'). Train one with `ganbertbots train detector` (or set Models:Detector) and restart.";

    /// <summary>Loads what is there and swaps it in; returns once both are settled.</summary>
    public static async Task LoadAsync(InferenceService service, ModelsOptions models, InferenceOptions inference, ILogger log)
    {
        TorchPlacement? placement = null;
        TorchPlacement Placement() => placement ??= TorchPlacement.Resolve(inference.Device, inference.DType);

        if (!File.Exists(Path.Combine(models.Generator, "config.json")))
        {
            log.LogWarning("{Reason}", GeneratorMissing(models.Generator));
            await service.SwapGenerator(null, GeneratorMissing(models.Generator));
        }
        else
        {
            try
            {
                var model = Gpt2TweetModel.Load(models.Generator, Placement());
                await service.SwapGenerator(model);
                log.LogInformation("Generator {Version} loaded from {Dir} on {Placement}", model.ModelVersion, models.Generator, Placement());
            }
            catch (UserFacingException e)
            {
                string reason = $"The tweet generator in '{models.Generator}' could not be loaded: {e.Message}";
                log.LogError("{Reason}", reason);
                await service.SwapGenerator(null, reason);
            }
        }

        if (!File.Exists(Path.Combine(models.Detector, "config.json")))
        {
            log.LogWarning("{Reason}", DetectorMissing(models.Detector));
            await service.SwapDetector(null, DetectorMissing(models.Detector));
        }
        else
        {
            try
            {
                var detector = LoadDetector(models.Detector, Placement());
                await service.SwapDetector(detector);
                log.LogInformation("Detector {Version} loaded from {Dir} on {Placement}", detector.ModelVersion, models.Detector, Placement());
            }
            catch (UserFacingException e)
            {
                string reason = $"The detector in '{models.Detector}' could not be loaded: {e.Message}";
                log.LogError("{Reason}", reason);
                await service.SwapDetector(null, reason);
            }
        }
    }

    static IDetectorModel LoadDetector(string dir, TorchPlacement placement) =>
        throw new UserFacingException("this build has no detector loader yet (the GAN-BERT detector lands with the detector branch)");
}
