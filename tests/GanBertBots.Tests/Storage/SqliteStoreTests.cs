using GanBertBots.Storage;
using Microsoft.Data.Sqlite;

namespace GanBertBots.Tests.Storage;

/// <summary>What only the SQLite store promises: WAL, its file under the data directory, crash safety, clear failures.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), "ganbertbots-sqlite-" + Guid.NewGuid().ToString("N")[..12]);

    public SqliteStoreTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    StorageOptions At(string file, int busyTimeoutMs = 5000, int maxAttempts = 4) =>
        new() { ConnectionString = $"Data Source={Path.Combine(_folder, file)}", BusyTimeoutMs = busyTimeoutMs, MaxAttempts = maxAttempts };

    static readonly UserKey Mod = new("telegram", "42");

    [Fact]
    public async Task The_default_is_one_WAL_file_under_the_data_directory_with_foreign_keys_on()
    {
        string dataDirectory = Path.Combine(_folder, "nested", "data");
        await using var store = await LabelStore.OpenAsync(new StorageOptions { DataDirectory = dataDirectory });
        var sqlite = Assert.IsType<SqliteLabelStore>(store);
        Assert.Equal(Path.Combine(dataDirectory, "ganbertbots.db"), sqlite.DataSource);
        Assert.True(File.Exists(sqlite.DataSource));
        Assert.Equal("wal", await sqlite.GetJournalModeAsync());

        // Foreign keys are enforced on the store's connections: a label for a missing text cannot sneak in via SQL either.
        string cs = SqliteLabelStore.ResolveConnectionString(new StorageOptions { DataDirectory = dataDirectory });
        await using var connection = new SqliteConnection(cs);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO labels (text_id, user_id, role, class, source, weight, labelled_at) VALUES (999, 999, 'user', 'x', 'moderator', 1, 'now')";
        var e = await Assert.ThrowsAsync<SqliteException>(() => command.ExecuteNonQueryAsync());
        Assert.Contains("FOREIGN KEY", e.Message);
    }

    [Fact]
    public async Task A_committed_label_survives_a_crash_the_files_as_a_killed_process_leaves_them()
    {
        var options = At("live.db");
        var store = await LabelStore.OpenAsync(options); // deliberately never disposed before the "crash"
        long id = (await store.AddTextAsync(new NewText("Wildfire smoke over the city", TextOrigin.UserSubmitted))).TextId;
        await store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));

        // Snapshot the files while the writer still has them open: what a power cut or kill -9 leaves on disk.
        // The label is in the write-ahead log, not yet checkpointed into the main file.
        string crashed = Path.Combine(_folder, "crashed");
        Directory.CreateDirectory(crashed);
        File.Copy(Path.Combine(_folder, "live.db"), Path.Combine(crashed, "live.db"));
        Assert.True(new FileInfo(Path.Combine(_folder, "live.db-wal")).Length > 0, "the write should still sit in the WAL");
        File.Copy(Path.Combine(_folder, "live.db-wal"), Path.Combine(crashed, "live.db-wal"));

        await using var recovered = await LabelStore.OpenAsync(new StorageOptions { ConnectionString = $"Data Source={Path.Combine(crashed, "live.db")}" });
        var label = Assert.Single(await recovered.GetLabelsAsync(id));
        Assert.Equal((LabelSource.Moderator, "human", Mod), (label.Source, label.Class, label.Who));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_reported_as_unavailable()
    {
        string path = Path.Combine(_folder, "garbage.db");
        await File.WriteAllTextAsync(path, new string('z', 4096));
        var e = await Assert.ThrowsAsync<StorageException>(() => LabelStore.OpenAsync(At("garbage.db")));
        Assert.StartsWith("database unavailable:", e.Message);
        Assert.Contains("not a database", e.Message);
    }

    [Fact]
    public async Task A_path_that_cannot_be_opened_is_reported_as_unavailable()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "a-directory.db"));
        var e = await Assert.ThrowsAsync<StorageException>(() => LabelStore.OpenAsync(At("a-directory.db")));
        Assert.StartsWith("database unavailable:", e.Message);

        // The data directory cannot be created under a file.
        await File.WriteAllTextAsync(Path.Combine(_folder, "plain-file"), "x");
        var e2 = Assert.Throws<StorageException>(() => LabelStore.Create(new StorageOptions { DataDirectory = Path.Combine(_folder, "plain-file", "data") }));
        Assert.StartsWith("database unavailable:", e2.Message);
    }

    [Fact]
    public async Task The_database_going_away_under_a_running_store_gives_a_StorageException()
    {
        var options = At("vanishing.db");
        await using var store = await LabelStore.OpenAsync(options);
        long id = (await store.AddTextAsync(new NewText("before", TextOrigin.UserSubmitted))).TextId;
        SqliteConnection.ClearAllPools();
        // Replace the file with garbage, as a broken disk or a wrong mount would.
        foreach (string suffix in new[] { "", "-wal", "-shm" })
            File.Delete(Path.Combine(_folder, "vanishing.db" + suffix));
        await File.WriteAllTextAsync(Path.Combine(_folder, "vanishing.db"), new string('z', 4096));
        var e = await Assert.ThrowsAsync<StorageException>(() => store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1)));
        Assert.StartsWith("database unavailable:", e.Message);
    }

    [Fact]
    public async Task A_writer_held_up_past_the_busy_timeout_gets_a_StorageException_after_bounded_retries_then_works()
    {
        var options = At("busy.db", busyTimeoutMs: 100, maxAttempts: 3);
        await using var store = await LabelStore.OpenAsync(options);
        long id = (await store.AddTextAsync(new NewText("contended", TextOrigin.UserSubmitted))).TextId;

        // Another process holds the write lock.
        await using (var blocker = new SqliteConnection(SqliteLabelStore.ResolveConnectionString(options) + ";Pooling=False"))
        {
            await blocker.OpenAsync();
            await using var tx = await blocker.BeginTransactionAsync(); // BEGIN IMMEDIATE: takes the write lock
            var started = DateTime.UtcNow;
            var e = await Assert.ThrowsAsync<StorageException>(() => store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1)));
            Assert.Contains("keep a label failed", e.Message);
            Assert.Contains("locked", e.Message);
            Assert.IsType<SqliteException>(e.InnerException);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "retries are bounded");
            await tx.RollbackAsync();
        }
        await store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        Assert.Single(await store.GetLabelsAsync(id));
    }

    [Fact]
    public async Task A_writer_held_up_briefly_is_retried_and_nothing_is_lost()
    {
        var options = At("brief.db", busyTimeoutMs: 50, maxAttempts: 8);
        await using var store = await LabelStore.OpenAsync(options);
        long id = (await store.AddTextAsync(new NewText("briefly contended", TextOrigin.UserSubmitted))).TextId;
        await using var blocker = new SqliteConnection(SqliteLabelStore.ResolveConnectionString(options) + ";Pooling=False");
        await blocker.OpenAsync();
        var tx = await blocker.BeginTransactionAsync();
        var write = store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "gpt2", LabelSource.Moderator, 1));
        await Task.Delay(150); // longer than the busy timeout: only the store's own retry can save the write
        await tx.RollbackAsync();
        await write;
        Assert.Equal("gpt2", Assert.Single(await store.GetLabelsAsync(id)).Class);
    }

    [Fact]
    public void Unusable_configuration_is_named_in_the_error()
    {
        var e = Assert.Throws<StorageException>(() => LabelStore.Create(new StorageOptions { Provider = "mongodb" }));
        Assert.Contains("'mongodb'", e.Message);
        Assert.Contains("sqlite or postgres", e.Message);
        Assert.Contains("in-memory", Assert.Throws<StorageException>(() => LabelStore.Create(new StorageOptions { ConnectionString = "Data Source=:memory:" })).Message);
        Assert.Contains("required", Assert.Throws<StorageException>(() => LabelStore.Create(new StorageOptions { Provider = "postgres" })).Message);
    }
}
