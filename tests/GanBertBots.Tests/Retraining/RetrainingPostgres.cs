using Npgsql;

namespace GanBertBots.Tests.Retraining;

/// <summary>
/// The PostgreSQL test server for the clustered-scheduler tests: the same connection string and environment variables as
/// the storage tests (GANBERTBOTS_TEST_POSTGRES, default from .ci/postgres.sh; GANBERTBOTS_TEST_POSTGRES_REQUIRED=1 turns
/// the skip into a failure). Each test gets its own schema.
/// TODO(lead): when the storage tests (Storage/PostgresTestServer.cs) reach main, use their PostgresFact instead of this.
/// </summary>
static class RetrainingPostgres
{
    public static string ConnectionString { get; } =
        Environment.GetEnvironmentVariable("GANBERTBOTS_TEST_POSTGRES") is { Length: > 0 } cs
            ? cs : "Host=127.0.0.1;Port=5432;Username=ganbert;Password=ganbert;Database=ganbert_test";

    static readonly Lazy<string?> Unreachable = new(() =>
    {
        try
        {
            using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Timeout = 3, Pooling = false }.ToString());
            connection.Open();
            return null;
        }
        catch (Exception e)
        {
            return $"no PostgreSQL server reachable ({e.Message}); run .ci/postgres.sh or set GANBERTBOTS_TEST_POSTGRES";
        }
    });

    public static string? SkipReason =>
        Environment.GetEnvironmentVariable("GANBERTBOTS_TEST_POSTGRES_REQUIRED") is "1" or "true" ? null : Unreachable.Value;

    public static async Task<(string Schema, string ConnectionString)> CreateSchemaAsync()
    {
        string schema = "rt_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync($"CREATE SCHEMA {schema}");
        return (schema, new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ToString());
    }

    public static Task DropSchemaAsync(string schema) => ExecuteAsync($"DROP SCHEMA IF EXISTS {schema} CASCADE");

    static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

public sealed class RetrainingPostgresFactAttribute : FactAttribute
{
    public RetrainingPostgresFactAttribute()
    {
        if (RetrainingPostgres.SkipReason is { } reason) Skip = reason;
    }
}
