using System.Data.Common;
using Npgsql;

namespace GanBertBots.Storage;

/// <summary>
/// The label store in PostgreSQL, for deployments with several replicas. Replicas starting at once migrate
/// one at a time (a session advisory lock); the others find the schema current and go on.
/// </summary>
public sealed class PostgresLabelStore : SqlLabelStore
{
    /// <summary>The advisory lock key taken while migrating ("GanBertS" as a 64-bit number).</summary>
    public const long MigrationLockKey = 0x47616E4265727453;

    readonly NpgsqlDataSource _dataSource;

    public PostgresLabelStore(StorageOptions options, TimeProvider? clock = null) : base(options, clock)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
            throw new StorageException("Storage:ConnectionString is required for Storage:Provider=postgres " +
                                       "(e.g. Host=127.0.0.1;Port=5432;Username=ganbert;Password=...;Database=ganbert)");
        try { _dataSource = NpgsqlDataSource.Create(options.ConnectionString); }
        catch (ArgumentException e)
        {
            throw new StorageException($"Storage:ConnectionString is not a valid PostgreSQL connection string: {e.Message}", e);
        }
    }

    public override string Provider => "postgres";

    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellation) =>
        await _dataSource.OpenConnectionAsync(cancellation);

    protected override async Task BeforeMigrationsAsync(DbConnection connection, CancellationToken cancellation)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(@k)", (NpgsqlConnection)connection);
        command.Parameters.AddWithValue("k", MigrationLockKey);
        await command.ExecuteNonQueryAsync(cancellation);
    }

    protected override async Task AfterMigrationsAsync(DbConnection connection, CancellationToken cancellation)
    {
        if (connection.State != System.Data.ConnectionState.Open) return; // a dropped session has released its locks
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@k)", (NpgsqlConnection)connection);
            command.Parameters.AddWithValue("k", MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellation);
        }
        catch (NpgsqlException) { /* the session is gone, and its lock with it */ }
    }

    protected override bool IsTransient(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState is
            "40001" /* serialization failure */ or "40P01" /* deadlock */ or "55P03" /* lock not available */ or
            "57P01" /* admin shutdown: connection terminated */ or "57P02" or "57P03" /* cannot connect now */ or "53300" /* too many connections */,
        NpgsqlException n => n.IsTransient,
        _ => e is IOException or TimeoutException or System.Net.Sockets.SocketException,
    };

    protected override bool IsUnavailable(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState is
            "57P01" or "57P02" or "57P03" or "53300" or "3D000" /* no such database */ or "28P01" or "28000" /* authentication */,
        NpgsqlException => true, // raised by the client: the server could not be reached or the connection broke
        _ => e is IOException or TimeoutException or System.Net.Sockets.SocketException,
    };

    protected override Schema.ColumnTypes Types { get; } =
        new("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BIGINT", "DOUBLE PRECISION", "TIMESTAMPTZ");

    protected override object TimeValue(DateTimeOffset time) => time.UtcDateTime;

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        new(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc));

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
