using System.Text.Json;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Generation;

namespace GanBertBots.Models.Hub;

/// <summary>A model directory under the models folder, as found on disk.</summary>
/// <param name="ModelType">config.json's model_type, or null when config.json is missing or unreadable, or for a detector.</param>
/// <param name="MissingFiles">Files its loader needs that are not there (empty when complete or when the kind is unknown).</param>
/// <param name="Check">What the loader of its kind says about it (<see cref="TextGenerator.Check"/>, <see cref="DetectorCheckpoint.Check"/>).</param>
public sealed record LocalCheckpoint(string Name, string Directory, string? ModelType, CheckpointFamily? Family,
    IReadOnlyList<string> Files, long SizeBytes, IReadOnlyList<string> MissingFiles, Loadability Check)
{
    /// <summary>The loader of its kind would find everything it reads.</summary>
    public bool IsComplete => Check.IsLoadable;

    /// <summary>A GAN-BERT detector written by train-detector (config.json "format": "ganbertbots-detector").</summary>
    public bool IsDetector { get; init; }

    /// <summary>What <c>models list</c> shows in its KIND column: "detector", the model_type, or "?".</summary>
    public string Kind => IsDetector ? "detector" : ModelType ?? "?";

    /// <summary>"ok", or why its loader would not load it.</summary>
    public string Status => Check.Describe();

    /// <summary>The model directories under <paramref name="modelsDirectory"/> (hidden staging folders excluded), by name.</summary>
    public static IReadOnlyList<LocalCheckpoint> List(string modelsDirectory)
    {
        if (!System.IO.Directory.Exists(modelsDirectory)) return [];
        var encoderFolders = BaseEncoderFolders.For(modelsDirectory).Directories; // an adapter detector's base encoder may be beside it
        return System.IO.Directory.EnumerateDirectories(modelsDirectory)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Select(d => Inspect(d, encoderFolders))
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Interrupted pulls waiting to be resumed: (model name, bytes so far).</summary>
    public static IReadOnlyList<(string Name, long Bytes)> PartialDownloads(string modelsDirectory) =>
        System.IO.Directory.Exists(modelsDirectory)
            ? System.IO.Directory.EnumerateDirectories(modelsDirectory, ".*.partial")
                .Select(d => (Path.GetFileName(d)[1..^".partial".Length], FolderSize(d)))
                .OrderBy(p => p.Item1, StringComparer.Ordinal)
                .ToList()
            : [];

    /// <param name="encoderDirectories">Where an adapter detector's base encoder may also be; default models/.</param>
    public static LocalCheckpoint Inspect(string directory, IReadOnlyList<string>? encoderDirectories = null)
    {
        var files = System.IO.Directory.EnumerateFiles(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        string config = Path.Combine(directory, "config.json");
        string? modelType = null, unreadable = null;
        bool detector = false;
        if (File.Exists(config))
        {
            try
            {
                using var doc = ParseConfig(config);
                detector = DetectorCheckpoint.IsDetectorConfig(doc.RootElement);
                modelType = ModelTypeOf(doc.RootElement);
            }
            catch (CheckpointException e) { unreadable = e.Message; }
        }
        if (detector) modelType = null;
        var family = HubCheckpoint.FamilyOf(modelType);
        // The same checks as the loaders': a detector as GanBertDetector.Load reads it, a GPT-2 as TextGenerator.Load does.
        var check = detector ? DetectorCheckpoint.Check(directory, encoderDirectories)
            : family == CheckpointFamily.Gpt2 ? TextGenerator.Check(directory)
            : family is { } f ? Loadability.RequireFiles(directory, [.. HubCheckpoint.RequiredFiles(f)])
            : !File.Exists(config) ? new Loadability(["config.json"], "no config.json")
            : unreadable is not null ? new Loadability([], "no readable config.json: " + unreadable)
            : new Loadability([], modelType is null ? "config.json has no model_type (nor is it a detector's)" : $"model_type '{modelType}' not supported");
        return new LocalCheckpoint(Path.GetFileName(directory), directory, modelType, family, files, FolderSize(directory), check.MissingFiles, check)
        {
            IsDetector = detector,
        };
    }

    /// <summary>config.json's model_type ("gpt2", "bert", ...), or null when it has none.</summary>
    /// <exception cref="CheckpointException">The file is missing or not a JSON object.</exception>
    public static string? ReadModelType(string configPath)
    {
        using var doc = ParseConfig(configPath);
        return ModelTypeOf(doc.RootElement);
    }

    static string? ModelTypeOf(JsonElement root) =>
        root.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    static JsonDocument ParseConfig(string configPath)
    {
        try
        {
            var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new CheckpointException($"{configPath}: not a JSON object");
            }
            return doc;
        }
        catch (JsonException e) { throw new CheckpointException($"{configPath}: not valid JSON ({e.Message})", e); }
        catch (IOException e) { throw new CheckpointException($"{configPath}: cannot read ({e.Message})", e); }
    }

    static long FolderSize(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
