using GanBertBots.Tests.Hub;
using GanBertBots.Training.Registry;

namespace GanBertBots.Tests.Retraining;

public sealed class ModelRegistryTests : IDisposable
{
    readonly ScratchDirectory _dir = new();
    readonly ModelRegistry _registry;

    public ModelRegistryTests() => _registry = new ModelRegistry(Path.Combine(_dir.Path, "registry"), FakeCheckpoint.Validate);

    public void Dispose() => _dir.Dispose();

    string Checkpoint(int generation, string? weights = null)
    {
        string dir = Path.Combine(_dir.Path, "src-" + Guid.NewGuid().ToString("N")[..8]);
        FakeCheckpoint.Write(dir, generation, weights);
        return dir;
    }

    string LiveFile(string name) => Path.Combine(_registry.Root, name, "LIVE");

    [Fact]
    public void Register_copies_a_complete_checkpoint_as_the_next_version_with_metadata_and_manifest()
    {
        var first = _registry.Register("generator", Checkpoint(1), new VersionMetadata
        {
            Source = "train-generator", Metrics = new Dictionary<string, double> { ["perplexity"] = 41.5 }, Notes = "first",
        });
        var second = _registry.Register("generator", Checkpoint(2));

        Assert.Equal("v0001", first.Version);
        Assert.Equal("v0002", second.Version);
        Assert.Equal(1, FakeCheckpoint.Generation(first.Directory));
        Assert.Equal(2, FakeCheckpoint.Generation(second.Directory));
        var reread = _registry.Get("generator", "v0001");
        Assert.Equal("train-generator", reread.Source);
        Assert.Equal(41.5, reread.Metrics["perplexity"]);
        Assert.Equal(["config.json", "weights.bin"], reread.Manifest.Select(m => m.Path));
        Assert.Equal(new FileInfo(Path.Combine(first.Directory, "weights.bin")).Length, reread.Manifest[1].Length);
        Assert.Null(_registry.Live("generator"));
        var model = Assert.Single(_registry.List());
        Assert.Equal("generator", model.Name);
        Assert.Null(model.Live);
        Assert.Equal(["v0001", "v0002"], model.Versions.Select(v => v.Version));
        // No staging folder is left behind.
        Assert.DoesNotContain(Directory.GetDirectories(Path.Combine(_registry.Root, "generator")), d => Path.GetFileName(d).StartsWith('.'));
    }

    [Fact]
    public void Promote_and_rollback_walk_the_live_history_back()
    {
        for (int g = 1; g <= 3; g++) _registry.Register("detector", Checkpoint(g));
        _registry.Promote("detector", "v0001", "alice");
        _registry.Promote("detector", "v0002", "bob");
        _registry.Promote("detector", "v0003", "nightly");
        Assert.Equal("v0003", _registry.Live("detector")!.Version);
        Assert.Equal("v0003\n", File.ReadAllText(LiveFile("detector")));

        Assert.Equal("v0002", _registry.Rollback("detector", "carol").Version);
        Assert.Equal("v0002", _registry.Live("detector")!.Version);
        Assert.Equal("v0001", _registry.Rollback("detector").Version);
        var e = Assert.Throws<RegistryException>(() => _registry.Rollback("detector"));
        Assert.Contains("no earlier live version than v0001", e.Message);
        Assert.Equal("v0001", _registry.Live("detector")!.Version);

        // Promoting again after rollbacks continues from where the pointer is.
        _registry.Promote("detector", "v0003");
        Assert.Equal("v0001", _registry.Rollback("detector").Version);

        var history = _registry.History("detector");
        Assert.Equal(["promote", "promote", "promote", "rollback", "rollback", "promote", "rollback"], history.Select(h => h.Action));
        Assert.Equal("carol", history[3].By);
        Assert.Equal("v0003", history[3].Previous);
        Assert.Equal("v0002", history[3].Version);
    }

    [Fact]
    public void Unknown_names_and_versions_are_clear_errors()
    {
        _registry.Register("generator", Checkpoint(1));
        Assert.Contains("unknown model 'detector' (registered: generator)",
            Assert.Throws<RegistryException>(() => _registry.Promote("detector", "v0001")).Message);
        Assert.Contains("has no version 'v0009' (versions: v0001)",
            Assert.Throws<RegistryException>(() => _registry.Promote("generator", "v0009")).Message);
        Assert.Contains("has no version '../x'",
            Assert.Throws<RegistryException>(() => _registry.Promote("generator", "../x")).Message);
        Assert.Contains("is not a model name", Assert.Throws<RegistryException>(() => _registry.Versions("../etc")).Message);
        Assert.Contains("no live version to roll back", Assert.Throws<RegistryException>(() => _registry.Rollback("generator")).Message);
        Assert.Contains("does not exist", Assert.Throws<RegistryException>(() => _registry.Register("generator", Path.Combine(_dir.Path, "nope"))).Message);
    }

    [Fact]
    public void A_checkpoint_that_does_not_load_is_never_registered()
    {
        string broken = Checkpoint(1, weights: "");
        var e = Assert.Throws<RegistryException>(() => _registry.Register("generator", broken));
        Assert.Contains("cannot be registered", e.Message);
        Assert.Contains("weights.bin is missing or empty", e.Message);
        File.WriteAllText(Path.Combine(broken, "config.json"), "{\"model_type\": ");
        Assert.Throws<RegistryException>(() => _registry.Register("generator", broken));
        Assert.Empty(_registry.Versions("generator"));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_registry.Root, "generator")));
    }

    [Fact]
    public void A_version_corrupted_after_registration_is_never_promoted_and_the_live_one_stays()
    {
        _registry.Promote("generator", _registry.Register("generator", Checkpoint(1)).Version);
        var candidate = _registry.Register("generator", Checkpoint(2));

        // Same length, one byte changed: only the checksum can tell.
        string weights = Path.Combine(candidate.Directory, "weights.bin");
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<RegistryException>(() => _registry.Promote("generator", candidate.Version));
        Assert.Contains("weights.bin does not match its registered SHA-256", e.Message);
        Assert.Equal("v0001", _registry.Live("generator")!.Version);

        // Truncated, and missing.
        File.WriteAllBytes(weights, bytes[..3]);
        Assert.Contains("has 3 bytes", Assert.Throws<RegistryException>(() => _registry.Promote("generator", candidate.Version)).Message);
        File.Delete(weights);
        Assert.Contains("weights.bin is missing", Assert.Throws<RegistryException>(() => _registry.Promote("generator", candidate.Version)).Message);
        Assert.Equal("v0001", _registry.Live("generator")!.Version);
        Assert.Single(_registry.History("generator"));
    }

    [Fact]
    public void A_rollback_target_that_was_corrupted_is_refused()
    {
        var v1 = _registry.Register("generator", Checkpoint(1));
        _registry.Promote("generator", v1.Version);
        _registry.Promote("generator", _registry.Register("generator", Checkpoint(2)).Version);
        File.WriteAllText(Path.Combine(v1.Directory, "config.json"), "{\"model_type\":\"fake\",\"generation\":9}");
        Assert.Throws<RegistryException>(() => _registry.Rollback("generator"));
        Assert.Equal("v0002", _registry.Live("generator")!.Version);
    }

    [Fact]
    public async Task Concurrent_promotions_never_corrupt_the_pointer_or_the_history()
    {
        for (int g = 1; g <= 4; g++) _registry.Register("generator", Checkpoint(g));
        string[] versions = ["v0001", "v0002", "v0003", "v0004"];
        using var stop = new CancellationTokenSource();
        var badReads = new List<string>();
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!File.Exists(LiveFile("generator"))) continue;
                string text;
                try { text = File.ReadAllText(LiveFile("generator")); }
                catch (IOException) { continue; }
                if (!versions.Contains(text.Trim())) lock (badReads) badReads.Add(text);
            }
        });
        // Separate registry instances: as separate processes would have (each takes the file lock itself).
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            var mine = new ModelRegistry(_registry.Root, FakeCheckpoint.Validate);
            for (int i = 0; i < 10; i++) mine.Promote("generator", versions[(worker + i) % versions.Length], $"worker{worker}");
        });
        stop.Cancel();
        await reader;

        Assert.Empty(badReads);
        var history = _registry.History("generator");
        // Each history line's "previous" is the line before's version: no lost or interleaved update.
        for (int i = 1; i < history.Count; i++) Assert.Equal(history[i - 1].Version, history[i].Previous);
        Assert.Equal(history[^1].Version, _registry.Live("generator")!.Version);
    }

    [Fact]
    public void Registrations_racing_get_distinct_versions()
    {
        var sources = Enumerable.Range(1, 6).Select(g => Checkpoint(g)).ToList();
        var registered = sources.AsParallel().WithDegreeOfParallelism(6)
            .Select(s => new ModelRegistry(_registry.Root, FakeCheckpoint.Validate).Register("detector", s)).ToList();
        Assert.Equal(6, registered.Select(r => r.Version).Distinct().Count());
        // Each version holds the checkpoint it was registered from.
        Assert.Equal(Enumerable.Range(1, 6), _registry.Versions("detector").Select(v => FakeCheckpoint.Generation(v.Directory)).Order());
    }

    [Fact]
    public void A_registry_locked_by_another_process_is_a_clear_error_after_the_timeout()
    {
        var v1 = _registry.Register("generator", Checkpoint(1));
        var impatient = new ModelRegistry(_registry.Root, FakeCheckpoint.Validate, TimeSpan.FromMilliseconds(200));
        using (new FileStream(Path.Combine(_registry.Root, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var e = Assert.Throws<RegistryException>(() => impatient.Promote("generator", v1.Version));
            Assert.Contains("locked by another process", e.Message);
        }
        Assert.Equal("v0001", impatient.Promote("generator", v1.Version).Version);
    }
}
