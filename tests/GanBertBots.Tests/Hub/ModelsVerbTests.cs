using System.Text;
using GanBertBots.Host.Cli;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Tests.Hub;

public sealed class ModelsVerbTests : IAsyncLifetime
{
    FakeHub _hub = null!;
    readonly ScratchDirectory _models = new();

    public async Task InitializeAsync()
    {
        _hub = await FakeHub.StartAsync();
        const string repo = "distilbert/distilgpt2";
        _hub.Add(repo, "config.json", Encoding.UTF8.GetBytes("""{"model_type": "gpt2"}"""));
        string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        header = header.PadRight((header.Length + 7) / 8 * 8);
        _hub.Add(repo, "model.safetensors", [.. BitConverter.GetBytes((long)header.Length), .. Encoding.ASCII.GetBytes(header), .. new byte[8]], lfs: true);
        _hub.Add(repo, "vocab.json", Encoding.UTF8.GetBytes("{}"));
        _hub.Add(repo, "merges.txt", Encoding.UTF8.GetBytes("#version: 0.2\n"));
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _models.Dispose();
    }

    async Task<(int Code, string Out, string Err)> Run(IConfiguration? config, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await CliApp.RunAsync(args, stdout, stderr, config ?? new ConfigurationBuilder().Build());
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Pull_logs_plain_lines_and_list_shows_the_model()
    {
        var (code, output, err) = await Run(null, "models", "pull", "distilgpt2", "--hub", _hub.BaseUrl.ToString(), "--dest", _models.Path);
        Assert.True(code == 0, err);
        Assert.Contains("model.safetensors: done, verified", output);
        Assert.Contains("tokenizer.json: not in the repository, skipped", output);
        Assert.Contains($"→ {Path.Combine(_models.Path, "distilgpt2")}: 4 files", output);

        (code, output, err) = await Run(null, "models", "pull", "distilgpt2", "--hub", _hub.BaseUrl.ToString(), "--dest", _models.Path);
        Assert.True(code == 0, err);
        Assert.Contains("already exists", output);

        (code, output, err) = await Run(null, "models", "list", "--dest", _models.Path);
        Assert.True(code == 0, err);
        Assert.Matches(@"(?m)^distilgpt2\s+gpt2\s+\S+ \S+\s+ok\s*$", output);
    }

    [Fact]
    public async Task Hub_address_and_models_folder_come_from_configuration()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hub:BaseUrl"] = _hub.BaseUrl.ToString(),
            ["Hub:ModelsDirectory"] = _models.Path,
        }).Build();
        var (code, _, err) = await Run(config, "models", "pull", "distilgpt2");
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(_models.Path, "distilgpt2", "model.safetensors")));
    }

    [Fact]
    public async Task List_reports_incomplete_models_and_interrupted_pulls()
    {
        Directory.CreateDirectory(Path.Combine(_models.Path, "half"));
        File.WriteAllText(Path.Combine(_models.Path, "half", "config.json"), """{"model_type": "bert"}""");
        Directory.CreateDirectory(Path.Combine(_models.Path, ".gpt2.partial"));
        File.WriteAllBytes(Path.Combine(_models.Path, ".gpt2.partial", "model.safetensors.partial"), new byte[2048]);

        var (code, output, err) = await Run(null, "models", "list", "--dest", _models.Path);
        Assert.True(code == 0, err);
        Assert.Matches(@"(?m)^half\s+bert\s+.*missing model\.safetensors, vocab\.txt\s*$", output);
        Assert.Contains("interrupted download of gpt2: 2.0 KiB", output);
        Assert.DoesNotContain(".gpt2.partial  ", output);
    }

    [Fact]
    public async Task Unreachable_hub_exits_1_with_instructions()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hub:MaxAttempts"] = "2",
            ["Hub:RetryDelay"] = "00:00:00.005",
        }).Build();
        var (code, _, err) = await Run(config, "models", "pull", "gpt2", "--hub", "http://127.0.0.1:1", "--dest", _models.Path);
        Assert.Equal(1, code);
        Assert.Contains("cannot reach the model hub", err);
        Assert.Contains("config.json, model.safetensors, vocab.json, merges.txt", err);
    }

    [Fact]
    public async Task Unknown_subcommand_is_a_usage_error_listing_the_known_ones()
    {
        var (code, _, err) = await Run(null, "models", "frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("list", err);
        Assert.Contains("pull", err);
    }
}
