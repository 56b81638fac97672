using GanBertBots.Host.Cli;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Tests.Retraining;

public sealed class RetrainingCliTests : IDisposable
{
    readonly RoundFixture _f = new();

    public void Dispose() => _f.Dispose();

    static (CliContext Context, StringWriter Out, StringWriter Error) Context(Dictionary<string, string?> settings)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return (new CliContext { Out = output, Error = error, Cancellation = CancellationToken.None, Configuration = configuration }, output, error);
    }

    [Fact]
    public void Models_list_promote_and_rollback_work_on_the_registry_with_real_gpt2_checkpoints()
    {
        using var tiny = TinyGpt2.Create();
        string checkpoint = TinyGpt2.SaveToTemp(tiny);
        try
        {
            var registry = new ModelRegistry(Path.Combine(_f.Root, "real"), CheckpointValidators.Default().Validator);
            registry.Register("generator", checkpoint, new VersionMetadata { Metrics = new Dictionary<string, double> { ["perplexity"] = 12.5 } });
            registry.Register("generator", checkpoint);
            var (context, output, error) = Context(new() { ["Retraining:RegistryRoot"] = registry.Root });

            Assert.Equal(0, RegistryCli.Promote(CliArgs.Parse(["generator", "v0001"]), context));
            Assert.Equal(0, RegistryCli.Promote(CliArgs.Parse(["generator", "v0002"]), context));
            Assert.Equal(0, RegistryCli.Rollback(CliArgs.Parse(["generator"]), context));
            Assert.Contains("generator: v0002 -> v0001 is live (rolled back)", output.ToString());
            Assert.Equal("v0001", registry.Live("generator")!.Version);

            output.GetStringBuilder().Clear();
            Assert.Equal(0, RegistryCli.List(CliArgs.Parse([]), context));
            var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("* generator    v0001", lines[1]);
            Assert.Contains("perplexity=12.5", lines[1]);
            Assert.StartsWith("  generator    v0002", lines[2]);

            Assert.Equal(1, RegistryCli.Promote(CliArgs.Parse(["generator", "v0007"]), context));
            Assert.Contains("models promote: model 'generator' has no version 'v0007' (versions: v0001, v0002)", error.ToString());
            Assert.Throws<CliUsageException>(() => RegistryCli.Promote(CliArgs.Parse(["generator"]), context));
            Assert.Throws<CliUsageException>(() => RegistryCli.List(CliArgs.Parse(["--colour", "red"]), context));
        }
        finally { Directory.Delete(checkpoint, recursive: true); }
    }

    [Fact]
    public async Task The_models_verb_routes_promote_rollback_and_versions_to_the_registry()
    {
        using var tiny = TinyGpt2.Create();
        string checkpoint = TinyGpt2.SaveToTemp(tiny);
        try
        {
            var registry = new ModelRegistry(Path.Combine(_f.Root, "routed"), CheckpointValidators.Default().Validator);
            registry.Register("generator", checkpoint);
            registry.Register("generator", checkpoint);
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Retraining:RegistryRoot"] = registry.Root }).Build();
            async Task<(int, string, string)> Run(params string[] args)
            {
                var o = new StringWriter(); var e = new StringWriter();
                return (await CliApp.RunAsync(args, o, e, configuration), o.ToString(), e.ToString());
            }
            Assert.Equal(0, (await Run("models", "promote", "generator", "v0002")).Item1);
            Assert.Equal(0, (await Run("models", "promote", "generator", "v0001")).Item1);
            var (code, output, _) = await Run("models", "rollback", "generator");
            Assert.Equal(0, code);
            Assert.Contains("v0001 -> v0002 is live (rolled back)", output);
            (code, output, _) = await Run("models", "versions");
            Assert.Equal(0, code);
            Assert.Contains("* generator    v0002", output);
            var (bad, _, error) = await Run("models", "promote", "detector", "v0001");
            Assert.Equal(1, bad);
            Assert.Contains("detector", error);
        }
        finally { Directory.Delete(checkpoint, recursive: true); }
    }

    [Fact]
    public void A_gpt2_checkpoint_with_truncated_weights_is_refused_by_the_loading_validator()
    {
        using var tiny = TinyGpt2.Create();
        string checkpoint = TinyGpt2.SaveToTemp(tiny);
        try
        {
            string weights = Path.Combine(checkpoint, "model.safetensors");
            var bytes = File.ReadAllBytes(weights);
            File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
            var registry = new ModelRegistry(Path.Combine(_f.Root, "real"), CheckpointValidators.Default().Validator);
            var e = Assert.Throws<RegistryException>(() => registry.Register("generator", checkpoint));
            Assert.Contains("does not load", e.Message);
            Assert.Empty(registry.Versions("generator"));
        }
        finally { Directory.Delete(checkpoint, recursive: true); }
    }

    [Fact]
    public async Task Retrain_now_queues_a_round_in_the_shared_store_which_the_service_runs()
    {
        string db = Path.Combine(_f.Root, "quartz.db");
        var settings = new Dictionary<string, string?>
        {
            ["Retraining:Store"] = "sqlite", ["Retraining:ConnectionString"] = $"Data Source={db}",
            ["Retraining:RegistryRoot"] = _f.Options.RegistryRoot, ["Retraining:ScratchRoot"] = _f.Options.ScratchRoot,
            ["Retraining:Samples"] = "8",
        };

        // Before the service ever ran, the store has no job to trigger.
        var (context, output, error) = Context(settings);
        Assert.Equal(1, await CliApp.RunAsync(["retrain", "--now"], output, error, context.Configuration));
        Assert.Contains("retrain:", error.ToString());

        using (var first = BuildHost(settings)) { await first.StartAsync(); await first.StopAsync(); }

        // Service down: the request waits in the store; a second one is not a second round.
        output.GetStringBuilder().Clear();
        Assert.Equal(0, await CliApp.RunAsync(["retrain", "--now"], output, error, context.Configuration));
        Assert.Contains("Retraining round queued", output.ToString());
        Assert.Equal(0, await CliApp.RunAsync(["retrain", "--now"], output, error, context.Configuration));
        Assert.Contains("already requested", output.ToString());

        using var service = BuildHost(settings);
        await service.StartAsync();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (_f.Steps.Reports.IsEmpty && DateTime.UtcNow < deadline) await Task.Delay(50);
            await Task.Delay(300);
            var report = Assert.Single(_f.Steps.Reports);
            Assert.StartsWith("cli:", report.RequestedBy);
            Assert.Equal(RoundOutcome.Promoted, report.Outcome);
        }
        finally { await service.StopAsync(); }

        Assert.Equal(2, await CliApp.RunAsync(["retrain"], output, error, context.Configuration));
        var (memoryContext, _, memoryError) = Context(new() { ["Retraining:Store"] = "memory" });
        Assert.Equal(1, await CliApp.RunAsync(["retrain", "--now"], new StringWriter(), memoryError, memoryContext.Configuration));
        Assert.Contains("use /retrain", memoryError.ToString());
    }

    IHost BuildHost(Dictionary<string, string?> settings) => _f.BuildHost(settings);
}
