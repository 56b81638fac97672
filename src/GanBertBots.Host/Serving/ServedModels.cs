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
        $"The detector is not installed (no trained detector in '{dir}'). Train one with `ganbertbots train-detector --data FILE --backbone small --out DIR` (or set Models:Detector) and restart.";

    /// <summary>Loads what is there and swaps it in; returns once both are settled.</summary>
    public static async Task LoadAsync(InferenceService service, ModelsOptions models, InferenceOptions inference, ILogger log,
        bool generator = true, bool detector = true)
    {
        TorchPlacement? placement = null;
        TorchPlacement Placement() => placement ??= TorchPlacement.Resolve(inference.Device, inference.DType);

        if (generator) await LoadOneAsync("tweet generator", models.Generator, GeneratorMissing(models.Generator),
            dir => Gpt2TweetModel.Load(dir, Placement()), (m, reason) => service.SwapGenerator(m, reason), m => m.ModelVersion, Placement, log);
        if (detector) await LoadOneAsync("detector", models.Detector, DetectorMissing(models.Detector),
            dir => LoadDetector(dir, Placement()), (m, reason) => service.SwapDetector(m, reason), m => m.ModelVersion, Placement, log);
    }

    static async Task LoadOneAsync<T>(string what, string dir, string missing, Func<string, T> load, Func<T?, string?, Task> swap,
        Func<T, string> version, Func<TorchPlacement> placement, ILogger log) where T : class
    {
        if (!File.Exists(Path.Combine(dir, "config.json")))
        {
            log.LogWarning("{Reason}", missing);
            await swap(null, missing);
            return;
        }
        try
        {
            var model = load(dir);
            await swap(model, null);
            log.LogInformation("The {What} {Version} was loaded from {Dir} on {Placement}", what, version(model), dir, placement());
        }
        catch (UserFacingException e)
        {
            string reason = $"The {what} in '{dir}' could not be loaded: {e.Message}";
            log.LogError("{Reason}", reason);
            await swap(null, reason);
        }
    }

    static IDetectorModel LoadDetector(string dir, TorchPlacement placement) => GanBertDetectorModel.Load(dir, placement);
}
