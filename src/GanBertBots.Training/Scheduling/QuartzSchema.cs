using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace GanBertBots.Training.Scheduling;

/// <summary>
/// Creates Quartz's tables for the persistent store (SQLite or PostgreSQL) from the embedded DDL
/// (<c>Scheduling/Schema/quartz_*.sql</c>). Idempotent; on PostgreSQL it runs under a transaction-scoped advisory
/// lock so replicas starting together do not race. Quartz validates the schema itself when it starts.
/// </summary>
public static class QuartzSchema
{
    static readonly Regex Prefix = new("^[A-Za-z_][A-Za-z0-9_]{0,30}$", RegexOptions.Compiled);
    const long AdvisoryLockKey = 0x47616E5172747A; // "GanQrtz"

    /// <summary>The DDL for "sqlite" or "postgres", with the table prefix filled in, one statement per entry.</summary>
    public static IReadOnlyList<string> Statements(string store, string tablePrefix)
    {
        if (!Prefix.IsMatch(tablePrefix))
            throw new ArgumentException($"Retraining:TablePrefix '{tablePrefix}' must be letters, digits and '_' (e.g. qrtz_)");
        string resource = $"GanBertBots.Training.Scheduling.Schema.quartz_{store.ToLowerInvariant()}.sql";
        using var stream = typeof(QuartzSchema).Assembly.GetManifestResourceStream(resource)
                           ?? throw new InvalidOperationException($"embedded schema {resource} is missing from the build");
        using var reader = new StreamReader(stream);
        string sql = reader.ReadToEnd();
        var lines = sql.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal));
        return string.Join('\n', lines)
            .Split(";\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => s.TrimEnd(';').Replace("{0}", store.Equals("postgres", StringComparison.OrdinalIgnoreCase)
                ? tablePrefix.ToLowerInvariant() : tablePrefix))
            .Where(s => s.Length > 0)
            .ToList();
    }

    /// <summary>Applies the schema for the configured store; does nothing for the memory store.</summary>
    public static async Task ApplyAsync(RetrainingOptions options, CancellationToken cancellation = default)
    {
        string store = options.Store.ToLowerInvariant();
        if (store == "memory") return;
        var statements = Statements(store, options.TablePrefix);
        DbConnection connection = store == "postgres"
            ? new NpgsqlConnection(options.EffectiveConnectionString)
            : new SqliteConnection(SqliteWithFolder(options.EffectiveConnectionString));
        await using (connection)
        {
            try { await connection.OpenAsync(cancellation); }
            catch (Exception e) when (e is DbException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidOperationException($"cannot open the Quartz {store} store ({e.Message}); check Retraining:ConnectionString", e);
            }
            await using var transaction = await connection.BeginTransactionAsync(cancellation);
            if (store == "postgres") await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellation);
            foreach (string statement in statements) await ExecuteAsync(connection, transaction, statement, cancellation);
            await transaction.CommitAsync(cancellation);
        }
    }

    static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellation)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellation);
    }

    /// <summary>Creates the folder of a SQLite file so a fresh install can start.</summary>
    static string SqliteWithFolder(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(folder) && builder.DataSource != ":memory:") Directory.CreateDirectory(folder);
        return builder.ToString();
    }
}

/// <summary>Applies <see cref="QuartzSchema"/> when the host starts, before Quartz's hosted service validates it.</summary>
public sealed class QuartzSchemaInstaller(RetrainingOptions options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => QuartzSchema.ApplyAsync(options, cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
