using System.Text.Json;

namespace GanBertBots.Models.Hub;

/// <summary>A model directory under the models folder, as found on disk.</summary>
/// <param name="ModelType">config.json's model_type, or null when config.json is missing or unreadable.</param>
/// <param name="MissingFiles">Files its family needs that are not there (empty when complete; all of them unknown when the family is).</param>
public sealed record LocalCheckpoint(string Name, string Directory, string? ModelType, CheckpointFamily? Family,
    IReadOnlyList<string> Files, long SizeBytes, IReadOnlyList<string> MissingFiles)
{
    public bool IsComplete => Family is not null && MissingFiles.Count == 0;

    /// <summary>The model directories under <paramref name="modelsDirectory"/> (hidden staging folders excluded), by name.</summary>
    public static IReadOnlyList<LocalCheckpoint> List(string modelsDirectory) =>
        System.IO.Directory.Exists(modelsDirectory)
            ? System.IO.Directory.EnumerateDirectories(modelsDirectory)
                .Where(d => !Path.GetFileName(d).StartsWith('.'))
                .Select(Inspect)
                .OrderBy(m => m.Name, StringComparer.Ordinal)
                .ToList()
            : [];

    /// <summary>Interrupted pulls waiting to be resumed: (model name, bytes so far).</summary>
    public static IReadOnlyList<(string Name, long Bytes)> PartialDownloads(string modelsDirectory) =>
        System.IO.Directory.Exists(modelsDirectory)
            ? System.IO.Directory.EnumerateDirectories(modelsDirectory, ".*.partial")
                .Select(d => (Path.GetFileName(d)[1..^".partial".Length], FolderSize(d)))
                .OrderBy(p => p.Item1, StringComparer.Ordinal)
                .ToList()
            : [];

    public static LocalCheckpoint Inspect(string directory)
    {
        var files = System.IO.Directory.EnumerateFiles(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        string config = Path.Combine(directory, "config.json");
        string? modelType = null;
        try { modelType = File.Exists(config) ? ReadModelType(config) : null; }
        catch (CheckpointException) { }
        var family = HubCheckpoint.FamilyOf(modelType);
        var missing = family is { } f
            ? HubCheckpoint.RequiredFiles(f).Where(r => !files.Contains(r)).ToList()
            : files.Contains("config.json") ? [] : ["config.json"];
        return new LocalCheckpoint(Path.GetFileName(directory), directory, modelType, family, files, FolderSize(directory), missing);
    }

    /// <summary>config.json's model_type ("gpt2", "bert", ...), or null when it has none.</summary>
    /// <exception cref="CheckpointException">The file is missing or not a JSON object.</exception>
    public static string? ReadModelType(string configPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{configPath}: not a JSON object");
            return doc.RootElement.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        }
        catch (JsonException e) { throw new CheckpointException($"{configPath}: not valid JSON ({e.Message})", e); }
        catch (IOException e) { throw new CheckpointException($"{configPath}: cannot read ({e.Message})", e); }
    }

    static long FolderSize(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
