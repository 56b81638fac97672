using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using GanBertBots.Models;

namespace GanBertBots.Training.Registry;

// Long on purpose: every operation takes the same file lock and keeps the same invariants (manifest, live pointer, history), which are easier to check together.

/// <summary>
/// Checks that a checkpoint directory is complete and loadable (e.g. by loading it on the CPU). Throws with the
/// reason when it is not. Called before a version is registered and again before it is promoted.
/// </summary>
public delegate void CheckpointValidator(string modelName, string directory);

/// <summary>A registry operation that cannot be done: unknown name or version, corrupt candidate, no earlier version.</summary>
public sealed class RegistryException(string message, Exception? inner = null)
    : UserFacingException(message, inner ?? new InvalidOperationException(message));

/// <summary>What a caller says about a version when registering it.</summary>
public sealed record VersionMetadata
{
    /// <summary>Where the checkpoint came from ("round 2026-11-23T03:00Z", "train-generator", "manual").</summary>
    public string Source { get; init; } = "manual";
    /// <summary>Numbers to keep with the version (macro_f1, perplexity, fool_rate, ...): the round plots read them back.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Free text: why it exists, why it was or was not promoted.</summary>
    public string? Notes { get; init; }
}

/// <summary>One file of a registered checkpoint, as it was when registered.</summary>
public sealed record ManifestEntry(string Path, long Length, string Sha256);

/// <summary>A registered version: its folder and what was recorded about it.</summary>
public sealed record RegisteredVersion(
    string Name, string Version, string Directory, DateTimeOffset RegisteredAt,
    string Source, IReadOnlyDictionary<string, double> Metrics, string? Notes, IReadOnlyList<ManifestEntry> Manifest)
{
    /// <summary>Where reports and plots of this version live (<c>&lt;version&gt;/report/</c>).</summary>
    public string ReportDirectory => System.IO.Path.Combine(Directory, ModelRegistry.ReportFolder);
}

/// <summary>One line of a model's history: a promotion or rollback.</summary>
public sealed record LiveChange(DateTimeOffset At, string Action, string Version, string? Previous, string? By);

/// <summary>A model name in the registry: its versions (oldest first) and which one is live.</summary>
public sealed record RegisteredModel(string Name, string? Live, IReadOnlyList<RegisteredVersion> Versions);

/// <summary>
/// Versioned model registry on the file system:
/// <code>
/// root/&lt;name&gt;/&lt;version&gt;/            a complete checkpoint folder (loadable as it is, e.g. generate --model)
/// root/&lt;name&gt;/&lt;version&gt;/registry.json  metadata, metrics and the file manifest (sizes + SHA-256)
/// root/&lt;name&gt;/&lt;version&gt;/report/       report.md, report.json, plots
/// root/&lt;name&gt;/LIVE                     the live version (one line; replaced atomically)
/// root/&lt;name&gt;/history.jsonl            promotions and rollbacks, one JSON object per line
/// root/.lock                             taken (exclusive file lock) by every change, across processes
/// </code>
/// A version appears only complete: it is copied into a staging folder, validated, then renamed into place.
/// The LIVE pointer is written to a temporary file, flushed to disk and renamed over the old one.
/// </summary>
public sealed class ModelRegistry
{
    public const string ReportFolder = "report";
    const string MetadataFile = "registry.json";
    const string LiveFile = "LIVE";
    const string HistoryFile = "history.jsonl";
    const string LockFile = ".lock";
    const string StagingPrefix = ".staging-";
    static readonly Regex NamePattern = new("^[a-z0-9][a-z0-9_-]{0,63}$", RegexOptions.Compiled);
    static readonly Regex VersionPattern = new("^v([0-9]{4,9})$", RegexOptions.Compiled);
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A metric may be NaN (e.g. macro-F1 with no held-out texts yet): written as "NaN" rather than failing the registration.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };
    readonly CheckpointValidator? _validator;

    /// <param name="root">Registry folder (created when missing), e.g. <c>models/registry</c>.</param>
    /// <param name="validator">Loads a checkpoint to prove it is usable; null checks only the file manifest.</param>
    /// <param name="lockTimeout">How long a change waits for another process holding the registry lock.</param>
    public ModelRegistry(string root, CheckpointValidator? validator = null, TimeSpan? lockTimeout = null)
    {
        if (string.IsNullOrWhiteSpace(root)) throw new ArgumentException("registry root is empty", nameof(root));
        Root = Path.GetFullPath(root);
        _validator = validator;
        LockTimeout = lockTimeout ?? TimeSpan.FromSeconds(30);
    }

    public string Root { get; }
    public TimeSpan LockTimeout { get; }

    // ---------------------------------------------------------------- reading

    /// <summary>Every model name with its versions and live version, names in order.</summary>
    public IReadOnlyList<RegisteredModel> List()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.EnumerateDirectories(Root)
            .Select(Path.GetFileName)
            .Where(n => n is not null && NamePattern.IsMatch(n))
            .Order(StringComparer.Ordinal)
            .Select(n => new RegisteredModel(n!, Live(n!)?.Version, Versions(n!)))
            .ToList();
    }

    /// <summary>The versions of one model, oldest first (empty for an unknown name).</summary>
    public IReadOnlyList<RegisteredVersion> Versions(string name)
    {
        CheckName(name);
        string dir = ModelDirectory(name);
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateDirectories(dir)
            .Select(d => Path.GetFileName(d)!)
            .Where(v => VersionPattern.IsMatch(v))
            .OrderBy(VersionNumber)
            .Select(v => ReadVersion(name, v))
            .ToList();
    }

    /// <summary>One version; throws <see cref="RegistryException"/> naming what exists when it is unknown.</summary>
    public RegisteredVersion Get(string name, string version)
    {
        CheckName(name);
        if (!Directory.Exists(ModelDirectory(name)))
            throw new RegistryException($"unknown model '{name}' (registered: {KnownNames()})");
        if (!VersionPattern.IsMatch(version) || !Directory.Exists(Path.Combine(ModelDirectory(name), version)))
            throw new RegistryException($"model '{name}' has no version '{version}' (versions: {Describe(Versions(name).Select(v => v.Version))})");
        return ReadVersion(name, version);
    }

    /// <summary>The live version of a model, or null when none was promoted yet (or the name is unknown).</summary>
    public RegisteredVersion? Live(string name)
    {
        CheckName(name);
        string pointer = Path.Combine(ModelDirectory(name), LiveFile);
        if (!File.Exists(pointer)) return null;
        string version = File.ReadAllText(pointer).Trim();
        return ReadVersion(name, version);
    }

    /// <summary>Promotions and rollbacks of a model, oldest first.</summary>
    public IReadOnlyList<LiveChange> History(string name)
    {
        CheckName(name);
        string path = Path.Combine(ModelDirectory(name), HistoryFile);
        if (!File.Exists(path)) return [];
        return File.ReadLines(path)
            .Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<LiveChange>(l, Json)
                         ?? throw new RegistryException($"{path}: unreadable history line"))
            .ToList();
    }

    // ---------------------------------------------------------------- changing

    /// <summary>
    /// Copies a checkpoint folder into the registry as the model's next version (v0001, v0002, ...). The copy is
    /// validated (the validator loads it) before it becomes visible; a checkpoint that fails is never registered.
    /// </summary>
    /// <param name="reportDirectory">Optional folder of report files (report.md, plots) kept in the version's <c>report/</c>.</param>
    public RegisteredVersion Register(string name, string sourceDirectory, VersionMetadata? metadata = null,
        string? reportDirectory = null, CancellationToken cancellation = default)
    {
        CheckName(name);
        metadata ??= new VersionMetadata();
        if (!Directory.Exists(sourceDirectory))
            throw new RegistryException($"checkpoint folder '{sourceDirectory}' does not exist");
        string modelDir = ModelDirectory(name);
        Directory.CreateDirectory(modelDir);
        string staging = Path.Combine(modelDir, StagingPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            CopyTree(sourceDirectory, staging, cancellation);
            var manifest = BuildManifest(staging, cancellation);
            if (manifest.Count == 0) throw new RegistryException($"checkpoint folder '{sourceDirectory}' is empty");
            Validate(name, staging, "registered", shownAs: sourceDirectory);
            if (reportDirectory is not null && Directory.Exists(reportDirectory))
                CopyTree(reportDirectory, Path.Combine(staging, ReportFolder), cancellation);
            cancellation.ThrowIfCancellationRequested();
            using (TakeLock())
            {
                string version = NextVersion(name);
                var record = new VersionFile(DateTimeOffset.UtcNow, metadata.Source,
                    new Dictionary<string, double>(metadata.Metrics), metadata.Notes, manifest);
                WriteDurably(Path.Combine(staging, MetadataFile), JsonSerializer.Serialize(record, Json));
                string target = Path.Combine(modelDir, version);
                Directory.Move(staging, target);
                FsyncDirectory(modelDir);
                return ReadVersion(name, version);
            }
        }
        finally
        {
            if (Directory.Exists(staging)) TryDelete(staging);
        }
    }

    /// <summary>Adds or replaces files in a version's report folder (reports are not part of the checkpoint manifest).</summary>
    public void AttachReport(string name, string version, string reportDirectory)
    {
        var registered = Get(name, version);
        CopyTree(reportDirectory, registered.ReportDirectory, CancellationToken.None);
    }

    /// <summary>
    /// Makes <paramref name="version"/> the live one. The checkpoint is checked against its manifest and loaded by
    /// the validator first: a corrupted version is refused and the live pointer stays where it was.
    /// </summary>
    public RegisteredVersion Promote(string name, string version, string? by = null)
    {
        var target = Get(name, version);
        Verify(target);
        using (TakeLock())
        {
            string? previous = Live(name)?.Version;
            if (previous == version) return target;
            SetLive(name, version);
            AppendHistory(name, new LiveChange(DateTimeOffset.UtcNow, "promote", version, previous, by));
            return target;
        }
    }

    /// <summary>
    /// Goes back to the version that was live before the current one (repeatable: each rollback goes one step further
    /// back). The earlier version is verified like a promotion.
    /// </summary>
    public RegisteredVersion Rollback(string name, string? by = null)
    {
        CheckName(name);
        if (!Directory.Exists(ModelDirectory(name)))
            throw new RegistryException($"unknown model '{name}' (registered: {KnownNames()})");
        using (TakeLock())
        {
            var stack = LiveStack(History(name));
            string? current = Live(name)?.Version;
            if (current is null) throw new RegistryException($"model '{name}' has no live version to roll back from");
            if (stack.Count < 2) throw new RegistryException($"model '{name}' has no earlier live version than {current}");
            string target = stack[^2];
            Verify(Get(name, target));
            SetLive(name, target);
            AppendHistory(name, new LiveChange(DateTimeOffset.UtcNow, "rollback", target, current, by));
            return Get(name, target);
        }
    }

    /// <summary>Checks a version against its manifest (sizes and SHA-256) and with the validator; throws when it is not intact.</summary>
    public void Verify(RegisteredVersion version)
    {
        foreach (var entry in version.Manifest)
        {
            string path = Path.Combine(version.Directory, entry.Path);
            if (!File.Exists(path))
                throw new RegistryException($"{version.Name} {version.Version} is corrupt: {entry.Path} is missing");
            long length = new FileInfo(path).Length;
            if (length != entry.Length)
                throw new RegistryException($"{version.Name} {version.Version} is corrupt: {entry.Path} has {length} bytes, {entry.Length} were registered");
            if (Sha256(path) != entry.Sha256)
                throw new RegistryException($"{version.Name} {version.Version} is corrupt: {entry.Path} does not match its registered SHA-256");
        }
        Validate(version.Name, version.Directory, "promoted");
    }

    // ---------------------------------------------------------------- internals

    /// <summary>Replays promotions and rollbacks into the chain of live versions, the current one last.</summary>
    static List<string> LiveStack(IReadOnlyList<LiveChange> history)
    {
        var stack = new List<string>();
        foreach (var change in history)
        {
            if (change.Action == "rollback" && stack.Count > 0) stack.RemoveAt(stack.Count - 1);
            else if (change.Action == "promote") stack.Add(change.Version);
            if (stack.Count == 0 || stack[^1] != change.Version) stack.Add(change.Version);
        }
        return stack;
    }

    /// <param name="shownAs">The folder named in the error (the caller's source folder rather than the staging copy).</param>
    void Validate(string name, string directory, string action, string? shownAs = null)
    {
        if (_validator is null) return;
        try { _validator(name, directory); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            string message = e.Message.Replace(directory, shownAs ?? directory, StringComparison.Ordinal);
            throw new RegistryException($"{name} checkpoint in '{shownAs ?? directory}' cannot be {action}: it does not load ({message})", e);
        }
    }

    void SetLive(string name, string version)
    {
        string pointer = Path.Combine(ModelDirectory(name), LiveFile);
        WriteDurably(pointer + ".tmp", version + "\n");
        File.Move(pointer + ".tmp", pointer, overwrite: true);
        FsyncDirectory(ModelDirectory(name));
    }

    void AppendHistory(string name, LiveChange change)
    {
        string path = Path.Combine(ModelDirectory(name), HistoryFile);
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var line = System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(change, JsonLine) + "\n");
        stream.Write(line);
        stream.Flush(flushToDisk: true);
    }

    string NextVersion(string name)
    {
        int last = Directory.EnumerateDirectories(ModelDirectory(name))
            .Select(d => Path.GetFileName(d)!)
            .Where(v => VersionPattern.IsMatch(v))
            .Select(VersionNumber)
            .DefaultIfEmpty(0)
            .Max();
        return "v" + (last + 1).ToString("D4", CultureInfo.InvariantCulture);
    }

    static int VersionNumber(string version) => int.Parse(VersionPattern.Match(version).Groups[1].Value, CultureInfo.InvariantCulture);

    RegisteredVersion ReadVersion(string name, string version)
    {
        string dir = Path.Combine(ModelDirectory(name), version);
        string metadataPath = Path.Combine(dir, MetadataFile);
        if (!File.Exists(metadataPath))
            throw new RegistryException($"{name} {version} has no {MetadataFile} (the registry folder was edited by hand?)");
        VersionFile record;
        try
        {
            record = JsonSerializer.Deserialize<VersionFile>(File.ReadAllText(metadataPath), Json)
                     ?? throw new JsonException("empty");
        }
        catch (JsonException e) { throw new RegistryException($"{metadataPath} is not valid: {e.Message}", e); }
        return new RegisteredVersion(name, version, dir, record.RegisteredAt, record.Source,
            record.Metrics ?? new Dictionary<string, double>(), record.Notes, record.Manifest ?? []);
    }

    string ModelDirectory(string name) => Path.Combine(Root, name);

    string KnownNames() => Describe(List().Select(m => m.Name));

    static string Describe(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }

    static void CheckName(string name)
    {
        if (name is null || !NamePattern.IsMatch(name))
            throw new RegistryException($"'{name}' is not a model name (lower-case letters, digits, '-' and '_', at most 64)");
    }

    /// <summary>An exclusive lock on <c>root/.lock</c>, shared by every process using this registry.</summary>
    IDisposable TakeLock()
    {
        Directory.CreateDirectory(Root);
        string path = Path.Combine(Root, LockFile);
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock) on Unix and a share lock on Windows.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(Random.Shared.Next(5, 25));
            }
            catch (IOException e)
            {
                throw new RegistryException($"the model registry at '{Root}' is locked by another process (waited {LockTimeout.TotalSeconds:0}s)", e);
            }
        }
    }

    static List<ManifestEntry> BuildManifest(string directory, CancellationToken cancellation)
    {
        var entries = new List<ManifestEntry>();
        foreach (string file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            cancellation.ThrowIfCancellationRequested();
            string relative = Path.GetRelativePath(directory, file).Replace('\\', '/');
            entries.Add(new ManifestEntry(relative, new FileInfo(file).Length, Sha256(file)));
        }
        return entries;
    }

    static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static void CopyTree(string source, string target, CancellationToken cancellation)
    {
        Directory.CreateDirectory(target);
        foreach (string dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir)));
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            cancellation.ThrowIfCancellationRequested();
            string destination = Path.Combine(target, Path.GetRelativePath(source, file));
            using (var input = File.OpenRead(file))
            using (var output = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                input.CopyTo(output);
                output.Flush(flushToDisk: true);
            }
        }
    }

    static void WriteDurably(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Flushes a directory's entries (a rename into it) to disk; .NET cannot open a directory, so libc does it.</summary>
    static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = LibC.open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return; // some file systems refuse; the rename itself is still atomic
        try { LibC.fsync(fd); }
        finally { LibC.close(fd); }
    }

    static class LibC
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }

    static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    sealed record VersionFile(
        DateTimeOffset RegisteredAt, string Source, Dictionary<string, double>? Metrics, string? Notes, List<ManifestEntry>? Manifest);
}
