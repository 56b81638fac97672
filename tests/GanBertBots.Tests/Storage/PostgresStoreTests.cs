using System.Diagnostics;
using GanBertBots.Storage;
using Npgsql;

namespace GanBertBots.Tests.Storage;

/// <summary>What only the PostgreSQL store promises: replicas migrate one at a time, dead servers give clear errors, dropped sessions are survived.</summary>
public sealed class PostgresStoreTests : IAsyncLifetime
{
    string _schema = "";
    string _connectionString = "";

    public async Task InitializeAsync()
    {
        if (PostgresTestServer.SkipReason is not null) return; // the tests themselves are skipped
        (_schema, _connectionString) = await PostgresTestServer.CreateSchemaAsync();
    }

    public async Task DisposeAsync()
    {
        if (_schema.Length > 0) await PostgresTestServer.DropSchemaAsync(_schema);
    }

    [PostgresFact]
    public async Task Replicas_starting_at_once_migrate_exactly_once()
    {
        const int replicas = 6;
        var stores = Enumerable.Range(0, replicas).Select(_ => LabelStore.Create(PostgresTestServer.Options(_connectionString))).ToList();
        try
        {
            using var start = new Barrier(replicas);
            var versions = await Task.WhenAll(stores.Select(s => Task.Run(async () =>
            {
                start.SignalAndWait();
                return await s.MigrateAsync();
            })));
            Assert.All(versions, v => Assert.Equal(Schema.LatestVersion, v));
            Assert.Equal(Schema.Migrations.Select(m => m.Version), await ((SqlLabelStore)stores[0]).GetAppliedVersionsAsync());
            // And the schema works for all of them.
            var kept = await stores[3].AddTextAsync(new NewText("migrated once", TextOrigin.UserSubmitted));
            Assert.Equal("migrated once", (await stores[5].GetTextAsync(kept.TextId))?.Content);
        }
        finally
        {
            foreach (var s in stores) await s.DisposeAsync();
        }
    }

    [PostgresFact]
    public async Task Migrations_wait_for_the_advisory_lock_another_replica_holds()
    {
        await using var store = LabelStore.Create(PostgresTestServer.Options(_connectionString));
        await store.MigrateAsync(); // warm: schema current, connections pooled; a second run takes milliseconds

        // Another replica is migrating: it holds the lock.
        await using var holder = new NpgsqlConnection(_connectionString);
        await holder.OpenAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({PostgresLabelStore.MigrationLockKey})", holder))
            await take.ExecuteNonQueryAsync();

        var migrate = Task.Run(() => store.MigrateAsync());
        await Task.Delay(1000);
        Assert.False(migrate.IsCompleted, "the migration must wait while another replica holds the lock");
        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({PostgresLabelStore.MigrationLockKey})", holder))
            await release.ExecuteNonQueryAsync();
        Assert.Equal(Schema.LatestVersion, await migrate.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [PostgresFact]
    public async Task No_server_on_the_port_gives_database_unavailable_after_bounded_retries()
    {
        var options = new StorageOptions { Provider = "postgres", ConnectionString = "Host=127.0.0.1;Port=1;Username=ganbert;Password=ganbert;Database=ganbert_test;Timeout=2", MaxAttempts = 3 };
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<StorageException>(() => LabelStore.OpenAsync(options));
        Assert.StartsWith("database unavailable:", e.Message);
        Assert.Contains("127.0.0.1:1", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [PostgresFact]
    public async Task Wrong_password_and_missing_database_give_database_unavailable()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { Password = "not-the-password" };
        var e = await Assert.ThrowsAsync<StorageException>(() => LabelStore.OpenAsync(PostgresTestServer.Options(builder.ToString())));
        Assert.StartsWith("database unavailable:", e.Message);
        Assert.Contains("password", e.Message);

        builder = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { Database = "no_such_database_here" };
        e = await Assert.ThrowsAsync<StorageException>(() => LabelStore.OpenAsync(PostgresTestServer.Options(builder.ToString())));
        Assert.StartsWith("database unavailable:", e.Message);
        Assert.Contains("no_such_database_here", e.Message);
    }

    [PostgresFact]
    public async Task A_server_that_dies_mid_run_gives_database_unavailable()
    {
        // A local TCP port that accepts and then drops every connection: the server has gone away under us.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        _ = Task.Run(async () =>
        {
            try { while (true) (await listener.AcceptTcpClientAsync()).Dispose(); }
            catch (Exception) { /* listener stopped */ }
        });
        var options = new StorageOptions { Provider = "postgres", ConnectionString = $"Host=127.0.0.1;Port={port};Username=ganbert;Password=ganbert;Database=ganbert_test;Timeout=2", MaxAttempts = 2 };
        await using var store = LabelStore.Create(options);
        var e = await Assert.ThrowsAsync<StorageException>(() => store.GetStatsAsync());
        Assert.StartsWith("database unavailable:", e.Message);
        listener.Stop();
    }

    [PostgresFact]
    public async Task A_terminated_session_is_retried_and_the_write_kept()
    {
        string application = "ganbertbots-test-" + Guid.NewGuid().ToString("N")[..8];
        var builder = new NpgsqlConnectionStringBuilder(_connectionString) { ApplicationName = application };
        await using var store = await LabelStore.OpenAsync(PostgresTestServer.Options(builder.ToString()));
        long id = (await store.AddTextAsync(new NewText("session will be killed", TextOrigin.UserSubmitted))).TextId;

        // The server ends the store's pooled sessions (a failover, an admin, an idle timeout).
        int killed = await TerminateSessionsAsync(application);
        Assert.True(killed > 0, "the store should have had a pooled session to lose");

        await store.AddLabelAsync(new NewLabel(id, new UserKey("telegram", "7"), UserRole.Moderator, "human", LabelSource.Moderator, 1));
        Assert.Single(await store.GetLabelsAsync(id));
    }

    static async Task<int> TerminateSessionsAsync(string application)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { Pooling = false };
        await using var admin = new NpgsqlConnection(builder.ToString());
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity " +
            "WHERE usename = current_user AND application_name = @app) killed", admin);
        command.Parameters.AddWithValue("app", application);
        return Convert.ToInt32(await command.ExecuteScalarAsync());
    }
}
