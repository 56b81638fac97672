using GanBertBots.Inference;
using GanBertBots.Models;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Runtime;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Host.Serving;

/// <summary>
/// Loads the configured checkpoints into the inference service. A missing or unloadable directory is logged with the
/// commands that make one (offline from the public data set, or from the model hub); chat users are only told that the
/// model is not set up yet.
/// </summary>
public static class ServedModels
{
    /// <summary>The public data set beside the repository, as seen from the working folder the service runs in.</summary>
    public const string SharedData = "../shared/data";

    /// <summary>What chat users are told while the generator is missing (the operator's log has the command).</summary>
    public const string GeneratorNotSetUp = "The tweet generator is not set up yet. Please try again later.";

    /// <summary>What chat users are told while the detector is missing (the operator's log has the command).</summary>
    public const string DetectorNotSetUp = "The detector is not set up yet. Please try again later.";

    /// <summary>A first generator trained offline into <paramref name="dir"/>: a tiny GPT-2 from scratch on the disaster tweets.</summary>
    public static IReadOnlyList<string> TrainGeneratorCommand(string dir, string sharedData = SharedData) =>
        ["train-generator", "--data", $"{sharedData}/disaster-tweets/train.csv", "--from", "scratch:tiny",
         "--tokenizer", $"{sharedData}/gpt2-tokenizer", "--out", dir];

    /// <summary>A first detector trained offline into <paramref name="dir"/>: the pretrained MiniLM encoder on the M4 subset, split by paper.</summary>
    public static IReadOnlyList<string> TrainDetectorCommand(string dir, string sharedData = SharedData) =>
        ["train-detector", "--preset", "m4", "--data", $"{sharedData}/m4-subset/m4_subset.jsonl",
         "--backbone", "bert", $"{sharedData}/all-MiniLM-L6-v2", "--out", dir];

    /// <summary>The operator's log line: why there is no generator, and the commands that make one.</summary>
    public static string GeneratorMissing(string dir, string? problem = null, string sharedData = SharedData) =>
        $"The tweet generator is not set up ({Why(dir, problem)}). Offline, train a first one from the public data set: " +
        $"`{Shell(TrainGeneratorCommand(dir, sharedData))}`. With the model hub: `ganbertbots models pull gpt2` " +
        "(into models/gpt2; Models:Generator names the folder served). Then restart.";

    /// <summary>The operator's log line: why there is no detector, and the commands that make one.</summary>
    public static string DetectorMissing(string dir, string? problem = null, string sharedData = SharedData) =>
        $"The detector is not set up ({Why(dir, problem)}). Offline, train a first one from the public data set: " +
        $"`{Shell(TrainDetectorCommand(dir, sharedData))}`. With the model hub: `ganbertbots models pull sentence-transformers/all-MiniLM-L6-v2`, " +
        "then the same command with `--backbone bert models/all-MiniLM-L6-v2` (Models:Detector names the folder served). Then restart.";

    static string Why(string dir, string? problem) =>
        problem is null ? $"nothing in '{dir}'" : $"'{dir}' is not loadable: {problem}";

    /// <summary>A command line as typed in a POSIX shell (arguments with spaces or quotes single-quoted).</summary>
    public static string Shell(IEnumerable<string> args) =>
        "ganbertbots " + string.Join(' ', args.Select(a => a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+".Contains(c))
            ? a : "'" + a.Replace("'", "'\\''") + "'"));

    /// <summary>Loads what is there and swaps it in; returns once both are settled.</summary>
    /// <param name="encoderDirectories">Where an adapter detector's base encoder may also be (the models folder); default models/.</param>
    public static async Task LoadAsync(InferenceService service, ModelsOptions models, InferenceOptions inference, ILogger log,
        bool generator = true, bool detector = true, IReadOnlyList<string>? encoderDirectories = null)
    {
        TorchPlacement? placement = null;
        TorchPlacement Placement() => placement ??= TorchPlacement.Resolve(inference.Device, inference.DType);

        if (generator) await LoadOneAsync("tweet generator", models.Generator, TextGenerator.Check, p => GeneratorMissing(models.Generator, p), GeneratorNotSetUp,
            dir => Gpt2TweetModel.Load(dir, Placement()), (m, reason) => service.SwapGenerator(m, reason), m => m.ModelVersion, Placement, log);
        if (detector) await LoadOneAsync("detector", models.Detector, dir => DetectorCheckpoint.Check(dir, encoderDirectories), p => DetectorMissing(models.Detector, p), DetectorNotSetUp,
            dir => GanBertDetectorModel.Load(dir, Placement(), encoderDirectories: encoderDirectories), (m, reason) => service.SwapDetector(m, reason), m => m.ModelVersion, Placement, log);
    }

    static async Task LoadOneAsync<T>(string what, string dir, Func<string, Loadability> check, Func<string?, string> missing, string notSetUp,
        Func<string, T> load, Func<T?, string?, Task> swap, Func<T, string> version, Func<TorchPlacement> placement, ILogger log) where T : class
    {
        // The loader's own check (the one `models list` shows): the log says what to run, users that it is not set up yet.
        if (check(dir) is { IsLoadable: false } found)
        {
            log.LogWarning("{Reason}", missing(Loadability.IsEmptyOrAbsent(dir) ? null : found.Describe()));
            await swap(null, notSetUp);
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
            await swap(null, $"The {what} is not available right now. Please try again later.");
        }
    }
}
