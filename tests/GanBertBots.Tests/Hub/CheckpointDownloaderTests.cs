using System.Net;
using System.Net.Sockets;
using System.Text;
using GanBertBots.Models;
using GanBertBots.Models.Hub;

namespace GanBertBots.Tests.Hub;

/// <summary>Pulls from a fake hub on 127.0.0.1 that drops connections, ignores ranges and serves corrupt bytes on request.</summary>
public sealed class CheckpointDownloaderTests : IAsyncLifetime
{
    const string Repo = "openai-community/gpt2";
    FakeHub _hub = null!;
    readonly ScratchDirectory _models = new();
    readonly Dictionary<string, byte[]> _files = new();

    public async Task InitializeAsync()
    {
        _hub = await FakeHub.StartAsync();
        _files["config.json"] = Encoding.UTF8.GetBytes("""{"model_type": "gpt2", "n_layer": 2, "n_embd": 8, "n_head": 2, "vocab_size": 300}""");
        _files["model.safetensors"] = Weights(3 << 20);
        _files["vocab.json"] = Encoding.UTF8.GetBytes("""{"a": 0, "<|endoftext|>": 1}""");
        _files["merges.txt"] = Encoding.UTF8.GetBytes("#version: 0.2\nĠ t\n");
        _files["tokenizer_config.json"] = Encoding.UTF8.GetBytes("""{"model_max_length": 1024}""");
        foreach (var (name, content) in _files) _hub.Add(Repo, name, content, lfs: name.EndsWith(".safetensors"));
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _models.Dispose();
    }

    /// <summary>A valid safetensors file: one F32 tensor of random values, <paramref name="bytes"/> of data.</summary>
    static byte[] Weights(int bytes)
    {
        string header = "{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[" + bytes / 4 + "],\"data_offsets\":[0," + bytes + "]}}";
        header = header.PadRight((header.Length + 7) / 8 * 8);
        var data = new byte[bytes];
        new Random(42).NextBytes(data);
        return [.. BitConverter.GetBytes((long)header.Length), .. Encoding.ASCII.GetBytes(header), .. data];
    }

    CheckpointDownloader Downloader(string? hub = null, int maxAttempts = 4) => new(new HubOptions
    {
        BaseUrl = hub ?? _hub.BaseUrl.ToString(),
        ModelsDirectory = _models.Path,
        MaxAttempts = maxAttempts,
        RetryDelay = TimeSpan.FromMilliseconds(5),
        RequestTimeout = TimeSpan.FromSeconds(10),
    });

    string ModelDir => Path.Combine(_models.Path, "gpt2");
    string Staging => Path.Combine(_models.Path, ".gpt2.partial");

    void AssertInstalledVerbatim()
    {
        foreach (var (name, content) in _files)
            Assert.True(content.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(ModelDir, name))), $"{name} differs from the hub's copy");
        Assert.Equal(_files.Keys.Order(), Directory.EnumerateFiles(ModelDir).Select(Path.GetFileName).Order());
        Assert.False(Directory.Exists(Staging), "the staging folder should be gone");
        Assert.Equal(["gpt2"], Directory.EnumerateFileSystemEntries(_models.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Full_download_installs_every_file_verbatim()
    {
        using var downloader = Downloader();
        var reports = new List<PullProgress>();
        var result = await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"), progress: new Collect(reports));

        AssertInstalledVerbatim();
        Assert.False(result.AlreadyExisted);
        Assert.Equal(CheckpointFamily.Gpt2, result.Family);
        Assert.Equal(_files.Values.Sum(f => (long)f.Length), result.BytesDownloaded);
        // Listed as absent: never requested, reported skipped.
        Assert.Equal(["tokenizer.json", "special_tokens_map.json", "generation_config.json"], result.SkippedOptionalFiles);
        Assert.Empty(_hub.RequestsFor("tokenizer.json"));
        // The weights went through the LFS redirect; progress reached the full size.
        Assert.Contains(_hub.Log, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal) && r.Status == 200);
        Assert.Contains(reports, p => p is { File: "model.safetensors", Stage: PullStage.Completed } && p.Received == _files["model.safetensors"].Length);
    }

    [Fact]
    public async Task Dropped_connection_resumes_with_a_range_request()
    {
        var weights = _hub.Repos[Repo]["model.safetensors"];
        weights.DropAfterBytes = 1 << 20;
        weights.DropsLeft = 1;
        using var downloader = Downloader();
        var result = await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"));

        AssertInstalledVerbatim();
        var cdn = _hub.Log.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, cdn.Count);
        Assert.Null(cdn[0].Range);
        Assert.Equal(-200, cdn[0].Status); // dropped mid-body
        Assert.Equal(206, cdn[1].Status);
        long resumedAt = long.Parse(cdn[1].Range!["bytes=".Length..^1]);
        Assert.InRange(resumedAt, 1, 1 << 20);
        // Nothing was fetched twice.
        Assert.Equal(_files.Values.Sum(f => (long)f.Length), result.BytesDownloaded);
    }

    [Fact]
    public async Task Server_that_ignores_range_gets_the_file_read_from_the_start()
    {
        _hub.IgnoreRange = true;
        var weights = _hub.Repos[Repo]["model.safetensors"];
        weights.DropAfterBytes = 1 << 20;
        weights.DropsLeft = 1;
        using var downloader = Downloader();
        await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"));

        AssertInstalledVerbatim();
        var cdn = _hub.Log.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, cdn.Count);
        Assert.NotNull(cdn[1].Range); // asked to resume ...
        Assert.Equal(200, cdn[1].Status); // ... got the whole file, and wrote it afresh (verified above)
    }

    [Theory]
    [InlineData(true)]  // checksum from the tree listing
    [InlineData(false)] // checksum from the redirect's X-Linked-Etag header
    public async Task Checksum_mismatch_fails_and_installs_nothing(bool listing)
    {
        _hub.ListingEnabled = listing;
        var weights = _hub.Repos[Repo]["model.safetensors"];
        byte[] corrupt = (byte[])weights.Content.Clone();
        corrupt[^100] ^= 0x01;
        weights.ServeInstead = corrupt;
        using var downloader = Downloader();

        var e = await Assert.ThrowsAsync<DownloadIntegrityException>(() => downloader.PullAsync(HubCheckpoint.Resolve("gpt2")));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("SHA-256", e.Message);
        Assert.False(Directory.Exists(ModelDir));
        Assert.Empty(Directory.EnumerateFiles(Staging, "model.safetensors*"));
    }

    [Fact]
    public async Task Optional_file_answering_404_is_skipped_when_there_is_no_listing()
    {
        _hub.ListingEnabled = false;
        using var downloader = Downloader();
        var result = await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"));

        AssertInstalledVerbatim();
        Assert.Contains("tokenizer.json", result.SkippedOptionalFiles);
        Assert.Contains(_hub.RequestsFor("tokenizer.json"), r => r.Status == 404);
    }

    [Fact]
    public async Task Missing_required_file_is_named_and_nothing_is_installed()
    {
        _hub.ListingEnabled = false;
        _hub.Repos[Repo].TryRemove("merges.txt", out _);
        using var downloader = Downloader();

        var e = await Assert.ThrowsAsync<UserFacingException>(() => downloader.PullAsync(HubCheckpoint.Resolve("gpt2")));
        Assert.Contains("merges.txt", e.Message);
        Assert.Contains("404", e.Message);
        Assert.False(Directory.Exists(ModelDir));
    }

    [Fact]
    public async Task Listing_without_safetensors_fails_before_downloading_anything()
    {
        _hub.Repos[Repo].TryRemove("model.safetensors", out _);
        _hub.Add(Repo, "pytorch_model.bin", [1, 2, 3]);
        using var downloader = Downloader();

        var e = await Assert.ThrowsAsync<UserFacingException>(() => downloader.PullAsync(HubCheckpoint.Resolve("gpt2")));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("pytorch_model.bin", e.Message);
        Assert.DoesNotContain(_hub.Log, r => r.Path.Contains("/resolve/"));
    }

    [Fact]
    public async Task Checkpoint_larger_than_the_free_disk_space_is_refused_before_downloading_it()
    {
        _hub.Repos[Repo]["model.safetensors"].ListedSize = 1L << 60; // an exbibyte
        using var downloader = Downloader();

        var e = await Assert.ThrowsAsync<UserFacingException>(() => downloader.PullAsync(HubCheckpoint.Resolve("gpt2")));
        Assert.Contains("not enough disk space", e.Message);
        Assert.Empty(_hub.RequestsFor("model.safetensors"));
        Assert.False(Directory.Exists(ModelDir));
    }

    [Fact]
    public async Task Unavailable_hub_is_retried_then_succeeds()
    {
        _hub.Repos[Repo]["config.json"].UnavailableLeft = 2;
        using var downloader = Downloader(maxAttempts: 3);
        await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"));

        AssertInstalledVerbatim();
        Assert.Equal([503, 503, 200], _hub.RequestsFor("config.json").Select(r => r.Status));
    }

    [Fact]
    public async Task Unreachable_hub_says_which_files_to_put_where()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) // a port with nobody listening
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }
        using var downloader = Downloader($"http://127.0.0.1:{port}", maxAttempts: 2);

        var e = await Assert.ThrowsAsync<HubUnreachableException>(() => downloader.PullAsync(HubCheckpoint.Resolve("gpt2")));
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains("config.json, model.safetensors, vocab.json, merges.txt", e.Message);
        Assert.Contains(Path.Combine(_models.Path, "gpt2") + Path.DirectorySeparatorChar, e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_models.Path)); // no model, no empty staging folder, no lock
    }

    [Fact]
    public async Task Cancelled_pull_keeps_its_partial_file_and_the_next_pull_resumes_it()
    {
        using var cts = new CancellationTokenSource();
        var cancelMidFile = new Collect([], p =>
        {
            if (p is { File: "model.safetensors", Stage: PullStage.Transferring, Received: > 1 << 20 }) cts.Cancel();
        });
        using (var downloader = Downloader())
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => downloader.PullAsync(HubCheckpoint.Resolve("gpt2"), progress: cancelMidFile, cancellation: cts.Token));

        Assert.False(Directory.Exists(ModelDir));
        long kept = new FileInfo(Path.Combine(Staging, "model.safetensors.partial")).Length;
        Assert.InRange(kept, (1 << 20) + 1, _files["model.safetensors"].Length - 1);
        Assert.True(File.Exists(Path.Combine(Staging, "config.json")), "files finished before the cancel stay in staging");

        var reports = new List<PullProgress>();
        using (var downloader = Downloader())
            await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"), progress: new Collect(reports));

        AssertInstalledVerbatim();
        Assert.Equal($"bytes={kept}-", _hub.Log.Last(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).Range);
        Assert.Contains(reports, p => p is { File: "config.json", Stage: PullStage.AlreadyPresent });
        Assert.Single(_hub.RequestsFor("config.json"));
    }

    [Fact]
    public async Task Existing_model_is_kept_unless_forced_and_replaced_only_after_verification()
    {
        using (var downloader = Downloader()) await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"));
        int requests = _hub.Log.Count;

        using (var downloader = Downloader())
        {
            var again = await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"));
            Assert.True(again.AlreadyExisted);
            Assert.Equal(requests, _hub.Log.Count); // the hub was not asked

            // A forced pull that fails verification leaves the old model untouched.
            var weights = _hub.Repos[Repo]["model.safetensors"];
            byte[] corrupt = (byte[])weights.Content.Clone();
            corrupt[12345] ^= 0x80;
            weights.ServeInstead = corrupt;
            await Assert.ThrowsAsync<DownloadIntegrityException>(() => downloader.PullAsync(HubCheckpoint.Resolve("gpt2"), force: true));
            AssertInstalledVerbatim_ignoringStaging();

            weights.ServeInstead = null;
            var forced = await downloader.PullAsync(HubCheckpoint.Resolve("gpt2"), force: true);
            Assert.False(forced.AlreadyExisted);
        }
        AssertInstalledVerbatim();
    }

    void AssertInstalledVerbatim_ignoringStaging()
    {
        foreach (var (name, content) in _files)
            Assert.True(content.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(ModelDir, name))), $"{name} changed");
    }

    [Fact]
    public async Task Bert_family_needs_vocab_txt_and_unknown_model_types_are_refused()
    {
        _hub.Add("google-bert/bert-base-uncased", "config.json", Encoding.UTF8.GetBytes("""{"model_type": "bert"}"""));
        _hub.Add("google-bert/bert-base-uncased", "model.safetensors", Weights(4096), lfs: true);
        _hub.Add("google-bert/bert-base-uncased", "vocab.txt", Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n"));
        _hub.Add("someone/llama-ish", "config.json", Encoding.UTF8.GetBytes("""{"model_type": "llama"}"""));
        _hub.Add("someone/llama-ish", "model.safetensors", Weights(4096), lfs: true);
        using var downloader = Downloader();

        var bert = await downloader.PullAsync(HubCheckpoint.Resolve("bert-base-uncased"));
        Assert.Equal(CheckpointFamily.Bert, bert.Family);
        Assert.Equal(["config.json", "model.safetensors", "vocab.txt"], Directory.EnumerateFiles(bert.Directory).Select(Path.GetFileName).Order());

        var e = await Assert.ThrowsAsync<CheckpointException>(() => downloader.PullAsync(HubCheckpoint.Resolve("someone/llama-ish")));
        Assert.Contains("llama", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_models.Path, "llama-ish")));
    }

    [Theory]
    [InlineData("gpt2", "openai-community/gpt2", "gpt2")]
    [InlineData("distilgpt2", "distilbert/distilgpt2", "distilgpt2")]
    [InlineData("distilbert-base-uncased", "distilbert/distilbert-base-uncased", "distilbert-base-uncased")]
    [InlineData("someone/my-model", "someone/my-model", "my-model")]
    public void Names_resolve_to_repositories(string name, string repo, string local)
    {
        var c = HubCheckpoint.Resolve(name);
        Assert.Equal(repo, c.RepoId);
        Assert.Equal(local, c.LocalName);
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("a/b/c")]
    [InlineData("../etc")]
    [InlineData("owner/..")]
    public void Bad_names_are_refused(string name) =>
        Assert.Throws<UserFacingException>(() => HubCheckpoint.Resolve(name));

    sealed class Collect(List<PullProgress> into, Action<PullProgress>? also = null) : IProgress<PullProgress>
    {
        public void Report(PullProgress value)
        {
            lock (into) into.Add(value);
            also?.Invoke(value);
        }
    }
}
