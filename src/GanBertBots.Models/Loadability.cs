namespace GanBertBots.Models;

/// <summary>
/// Whether a folder holds what a loader reads, and if not, why: the files it lacks, or what is wrong with the ones
/// there (e.g. a config.json of another kind). A cheap look at names and config.json only; the loader still checks
/// shapes and contents. Each loader has its own check beside it (<c>TextGenerator.Check</c>,
/// <c>DetectorCheckpoint.Check</c>), which <c>models list</c> and the service use, so they agree with the loader.
/// </summary>
public sealed record Loadability(IReadOnlyList<string> MissingFiles, string? Problem = null)
{
    public static Loadability Loadable { get; } = new([]);

    public bool IsLoadable => MissingFiles.Count == 0 && Problem is null;

    /// <summary>"ok", or what is wrong ("missing model.safetensors", "config.json: not valid JSON (...)").</summary>
    public string Describe() => IsLoadable ? "ok" : Problem ?? "missing " + string.Join(", ", MissingFiles);

    /// <summary>The folder itself is absent or empty: nothing was ever put there.</summary>
    public static bool IsEmptyOrAbsent(string directory) =>
        !Directory.Exists(directory) || !Directory.EnumerateFileSystemEntries(directory).Any();

    /// <summary>Both checks' missing files; the first problem.</summary>
    public Loadability And(Loadability other) =>
        new([.. MissingFiles, .. other.MissingFiles.Where(f => !MissingFiles.Contains(f))], Problem ?? other.Problem);

    /// <summary>The required files (by name) that are not in <paramref name="directory"/>.</summary>
    public static Loadability RequireFiles(string directory, params string[] files) =>
        new(files.Where(f => !File.Exists(Path.Combine(directory, f))).ToList());
}
