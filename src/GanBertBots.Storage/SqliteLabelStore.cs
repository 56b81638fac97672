using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace GanBertBots.Storage;

/// <summary>
/// The label store in one SQLite file (the default): write-ahead log, <c>synchronous=FULL</c> so a committed
/// write survives a crash or power cut, foreign keys enforced, writers wait <see cref="StorageOptions.BusyTimeoutMs"/>
/// for each other. Several processes may share the file on one machine; use PostgreSQL across machines.
/// </summary>
public sealed class SqliteLabelStore : SqlLabelStore
{
    readonly string _connectionString;

    public SqliteLabelStore(StorageOptions options, TimeProvider? clock = null) : base(options, clock)
    {
        _connectionString = ResolveConnectionString(options);
    }

    public override string Provider => "sqlite";

    /// <summary>The database file this store uses.</summary>
    public string DataSource => new SqliteConnectionStringBuilder(_connectionString).DataSource;

    /// <summary>
    /// The connection string to use: <see cref="StorageOptions.ConnectionString"/>, or a file under
    /// <see cref="StorageOptions.DataDirectory"/>; foreign keys on, and the file's folder created.
    /// </summary>
    public static string ResolveConnectionString(StorageOptions options)
    {
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = string.IsNullOrWhiteSpace(options.ConnectionString)
                ? new SqliteConnectionStringBuilder { DataSource = Path.Combine(options.DataDirectory, StorageOptions.DefaultSqliteFile) }
                : new SqliteConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException e)
        {
            throw new StorageException($"Storage:ConnectionString is not a valid SQLite connection string: {e.Message}", e);
        }
        if (string.IsNullOrWhiteSpace(builder.DataSource))
            throw new StorageException("Storage:ConnectionString names no SQLite file (Data Source=...)");
        builder.ForeignKeys = true;
        // The driver itself retries a busy statement until its command timeout (whole seconds): keep that in step with the busy timeout.
        builder.DefaultTimeout = Math.Max(1, (options.BusyTimeoutMs + 999) / 1000);
        if (builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
            throw new StorageException("an in-memory SQLite database is not supported (every connection would see its own empty database); name a file");
        string? folder = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
        {
            try { Directory.CreateDirectory(folder); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StorageException($"database unavailable: cannot create the data directory '{folder}': {e.Message}", e);
            }
        }
        return builder.ToString();
    }

    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellation)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellation);
            await using var pragmas = connection.CreateCommand();
            pragmas.CommandText = $"PRAGMA busy_timeout = {Math.Max(0, Options.BusyTimeoutMs)}; PRAGMA synchronous = FULL;";
            await pragmas.ExecuteNonQueryAsync(cancellation);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    protected override async Task BeforeMigrationsAsync(DbConnection connection, CancellationToken cancellation)
    {
        // The journal mode is a property of the file: set once, it stays.
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL";
        await command.ExecuteScalarAsync(cancellation);
    }

    /// <summary>The file's journal mode ("wal" once migrated).</summary>
    public async Task<string> GetJournalModeAsync(CancellationToken cancellation = default)
    {
        await using var connection = await OpenConnectionAsync(cancellation);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        return (string)(await command.ExecuteScalarAsync(cancellation))!;
    }

    // SQLITE_BUSY and SQLITE_LOCKED: another writer holds the lock past the busy timeout.
    protected override bool IsTransient(Exception e) => e is SqliteException { SqliteErrorCode: 5 or 6 };

    // CANTOPEN, NOTADB, CORRUPT, IOERR, AUTH, READONLY: the file cannot serve as our database.
    protected override bool IsUnavailable(Exception e) => e is SqliteException { SqliteErrorCode: 14 or 26 or 11 or 10 or 23 or 8 };

    protected override Schema.ColumnTypes Types { get; } = new("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "REAL", "TEXT");

    // ISO 8601 UTC with 100 ns digits: sorts as text, reads back exactly.
    protected override object TimeValue(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open; let it go (tests delete it, deployments move it).
        using (var connection = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
