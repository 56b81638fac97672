using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using GanBertBots.Tests.Storage;
using Quartz;

namespace GanBertBots.Tests.Retraining;

/// <summary>The Quartz side: AddRetraining in a real host, manual triggers, the SQLite schema, shutdown, and a PostgreSQL cluster.</summary>
public sealed class RetrainingSchedulerTests : IDisposable
{
    readonly RoundFixture _f = new();

    public void Dispose() => _f.Dispose();

    IHost BuildHost(Dictionary<string, string?> settings) =>
        _f.BuildHost(settings.ToDictionary(kv => "Retraining:" + kv.Key, kv => kv.Value));

    static async Task WaitForAsync(Func<bool> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Two_triggers_at_once_give_one_run_and_a_later_trigger_runs_again()
    {
        using var host = BuildHost(new() { ["Store"] = "memory" });
        await host.StartAsync();
        try
        {
            _f.Steps.BlockDetectorTraining = true;
            var trigger = host.Services.GetRequiredService<RetrainingTrigger>();
            var outcomes = await Task.WhenAll(trigger.RequestAsync("moderator:a"), trigger.RequestAsync("cli"));
            Assert.Contains(RetrainRequestOutcome.Queued, outcomes);
            Assert.Single(outcomes, RetrainRequestOutcome.Queued);
            await _f.Steps.DetectorTrainingEntered.Task.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.NotEqual(RetrainRequestOutcome.Queued, await trigger.RequestAsync("moderator:b")); // still running
            _f.Steps.DetectorTrainingRelease.SetResult();
            await WaitForAsync(() => _f.Steps.Reports.Count == 1);
            await Task.Delay(300); // a duplicate run would have started by now
            Assert.Equal(1, _f.Steps.Samplings);

            // The manual trigger is gone once its run finished: the next request is a new round.
            await WaitForAsync(() => trigger.RequestAsync("cli").Result == RetrainRequestOutcome.Queued);
            await WaitForAsync(() => _f.Steps.Reports.Count == 2);
            Assert.Equal(2, _f.Steps.Samplings);
            Assert.Equal("v0003", _f.Registry.Live("generator")!.Version);
        }
        finally { await host.StopAsync(); }
    }

    [Fact]
    public async Task Shutdown_cancels_a_running_round_which_discards_its_candidate()
    {
        using var host = BuildHost(new() { ["Store"] = "memory" });
        await host.StartAsync();
        _f.Steps.BlockDetectorTraining = true;
        Assert.Equal(RetrainRequestOutcome.Queued, await host.Services.GetRequiredService<RetrainingTrigger>().RequestAsync("cli"));
        await _f.Steps.DetectorTrainingEntered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.NotEmpty(_f.ScratchLeftovers());

        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Empty(_f.ScratchLeftovers());
        Assert.Single(_f.Registry.Versions("detector"));
        Assert.Equal("v0001", _f.Registry.Live("detector")!.Version);
        Assert.Empty(_f.Steps.Reports);
    }

    [Fact]
    public async Task The_nightly_trigger_follows_the_configured_cron_and_fires_once_after_a_misfire()
    {
        using var host = BuildHost(new() { ["Store"] = "memory", ["Cron"] = "0 30 2 ? * MON-FRI" });
        await host.StartAsync();
        try
        {
            var scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
            var nightly = Assert.IsAssignableFrom<ICronTrigger>(await scheduler.GetTrigger(RetrainingServiceCollectionExtensions.NightlyKey));
            Assert.Equal("0 30 2 ? * MON-FRI", nightly.CronExpressionString);
            Assert.Equal(CronTriggerMisfireInstruction.FireAndProceed, nightly.MisfireInstruction);
            Assert.Equal(RetrainingJob.Key, nightly.JobKey);
            var next = nightly.NextFireTimeUtc!.Value;
            Assert.Equal((2, 30), (next.Hour, next.Minute));
            Assert.InRange(next.DayOfWeek, DayOfWeek.Monday, DayOfWeek.Friday);
        }
        finally { await host.StopAsync(); }
    }

    [Fact]
    public void Bad_configuration_is_refused_with_the_key_named()
    {
        Assert.Contains("Retraining:Cron", Assert.Throws<ArgumentException>(() => BuildHost(new() { ["Cron"] = "every night" })).Message);
        Assert.Contains("Retraining:TimeZone", Assert.Throws<ArgumentException>(() => BuildHost(new() { ["TimeZone"] = "Mars/Olympus" })).Message);
        Assert.Contains("Retraining:Store", Assert.Throws<ArgumentException>(() => BuildHost(new() { ["Store"] = "redis" })).Message);
        Assert.Contains("Retraining:ConnectionString", Assert.Throws<ArgumentException>(() => BuildHost(new() { ["Store"] = "postgres" })).Message);
        Assert.Contains("Retraining:TablePrefix", Assert.Throws<ArgumentException>(() => QuartzSchema.Statements("sqlite", "x; DROP")).Message);
    }

    [Fact]
    public async Task The_sqlite_store_gets_its_tables_idempotently_and_survives_a_restart()
    {
        string db = Path.Combine(_f.Root, "data", "quartz.db");
        var settings = new Dictionary<string, string?> { ["Store"] = "sqlite", ["ConnectionString"] = $"Data Source={db}" };
        var options = new RetrainingOptions { Store = "sqlite", ConnectionString = $"Data Source={db}" };
        await QuartzSchema.ApplyAsync(options);
        await QuartzSchema.ApplyAsync(options); // again: nothing to do, no error

        for (int start = 1; start <= 2; start++)
        {
            using var host = BuildHost(settings);
            await host.StartAsync(); // Quartz validates the schema here
            try
            {
                Assert.Equal(RetrainRequestOutcome.Queued, await host.Services.GetRequiredService<RetrainingTrigger>().RequestAsync("cli"));
                await WaitForAsync(() => _f.Steps.Reports.Count == start);
            }
            finally { await host.StopAsync(); }
        }
        Assert.Equal("v0003", _f.Registry.Live("generator")!.Version);
        await using var connection = new SqliteConnection($"Data Source={db}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM qrtz_TRIGGERS";
        Assert.Equal(1L, await command.ExecuteScalarAsync()); // the nightly trigger once; manual triggers removed after their runs
    }

    [PostgresFact]
    public async Task Two_clustered_nodes_on_one_postgres_database_run_a_requested_round_once()
    {
        var (schema, connectionString) = await PostgresTestServer.CreateSchemaAsync();
        try
        {
            using var nodeA = BuildHost(Clustered(connectionString, "node-a"));
            using var nodeB = BuildHost(Clustered(connectionString, "node-b"));
            await Task.WhenAll(nodeA.StartAsync(), nodeB.StartAsync());
            try
            {
                _f.Steps.BlockDetectorTraining = true;
                var outcomes = await Task.WhenAll(
                    nodeA.Services.GetRequiredService<RetrainingTrigger>().RequestAsync("moderator:telegram"),
                    nodeB.Services.GetRequiredService<RetrainingTrigger>().RequestAsync("moderator:discord"));
                Assert.Single(outcomes, RetrainRequestOutcome.Queued);
                Assert.Single(outcomes, RetrainRequestOutcome.AlreadyQueued);
                await _f.Steps.DetectorTrainingEntered.Task.WaitAsync(TimeSpan.FromSeconds(30));
                _f.Steps.DetectorTrainingRelease.SetResult();
                await WaitForAsync(() => _f.Steps.Reports.Count == 1, 30);
                await Task.Delay(1000);
                Assert.Equal(1, _f.Steps.Samplings);
                Assert.Single(_f.Steps.Reports);
            }
            finally { await Task.WhenAll(nodeA.StopAsync(), nodeB.StopAsync()); }
        }
        finally { await PostgresTestServer.DropSchemaAsync(schema); }
    }

    [PostgresFact]
    public async Task Two_clustered_nodes_with_the_same_nightly_schedule_run_the_night_once()
    {
        var (schema, connectionString) = await PostgresTestServer.CreateSchemaAsync();
        try
        {
            // "The night" is a few seconds from now: a cron naming one second of one minute of one hour.
            var night = DateTimeOffset.UtcNow.AddSeconds(4);
            string cron = $"{night.Second} {night.Minute} {night.Hour} * * ?";
            using var nodeA = BuildHost(Clustered(connectionString, "node-a", cron));
            using var nodeB = BuildHost(Clustered(connectionString, "node-b", cron));
            await Task.WhenAll(nodeA.StartAsync(), nodeB.StartAsync());
            try
            {
                await WaitForAsync(() => _f.Steps.Reports.Count == 1, 30);
                await Task.Delay(2000); // a second node running the same night would have reported by now
                Assert.Equal(1, _f.Steps.Samplings);
                Assert.Equal("schedule", Assert.Single(_f.Steps.Reports).RequestedBy);
            }
            finally { await Task.WhenAll(nodeA.StopAsync(), nodeB.StopAsync()); }
        }
        finally { await PostgresTestServer.DropSchemaAsync(schema); }
    }

    static Dictionary<string, string?> Clustered(string connectionString, string node, string cron = "0 0 3 * * ?") => new()
    {
        ["Store"] = "postgres",
        ["ConnectionString"] = connectionString,
        ["NodeId"] = node,
        ["Cron"] = cron,
        ["ClusterCheckinInterval"] = "00:00:02",
    };
}
