using System.ComponentModel;
using GanBertBots.Storage;
using Npgsql;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace GanBertBots.Tests.Storage;

/// <summary>
/// The PostgreSQL server the storage tests use: GANBERTBOTS_TEST_POSTGRES, or the one <c>.ci/postgres.sh</c> starts.
/// Tests skip, saying why, when it cannot be reached; with GANBERTBOTS_TEST_POSTGRES_REQUIRED=1 (CI) they run and fail instead.
/// Each test gets its own schema (dropped afterwards), so tests never see each other's rows.
/// </summary>
public static class PostgresTestServer
{
    public const string DefaultConnectionString = "Host=127.0.0.1;Port=5432;Username=ganbert;Password=ganbert;Database=ganbert_test";

    public static string ConnectionString { get; } =
        Environment.GetEnvironmentVariable("GANBERTBOTS_TEST_POSTGRES") is { Length: > 0 } cs ? cs : DefaultConnectionString;

    public static bool Required => Environment.GetEnvironmentVariable("GANBERTBOTS_TEST_POSTGRES_REQUIRED") is "1" or "true";

    static readonly Lazy<string?> Unreachable = new(Probe);

    /// <summary>Why the PostgreSQL tests skip, or null when they run.</summary>
    public static string? SkipReason => Required ? null : Unreachable.Value;

    static string? Probe()
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Timeout = 3, Pooling = false };
            using var connection = new NpgsqlConnection(builder.ToString());
            connection.Open();
            using var command = new NpgsqlCommand("SELECT 1", connection);
            command.ExecuteScalar();
            return null;
        }
        catch (Exception e)
        {
            var safe = new NpgsqlConnectionStringBuilder(ConnectionString) { Password = null };
            return $"no PostgreSQL server reachable at '{safe}' ({e.Message}); run .ci/postgres.sh or set GANBERTBOTS_TEST_POSTGRES " +
                   "(GANBERTBOTS_TEST_POSTGRES_REQUIRED=1 makes this a failure instead of a skip)";
        }
    }

    /// <summary>A fresh schema; the returned connection string puts it first on the search path.</summary>
    public static async Task<(string Schema, string ConnectionString)> CreateSchemaAsync()
    {
        string schema = "t_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync(ConnectionString, $"CREATE SCHEMA {schema}");
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema, Timeout = 5 };
        return (schema, builder.ToString());
    }

    public static Task DropSchemaAsync(string schema) => ExecuteAsync(ConnectionString, $"DROP SCHEMA IF EXISTS {schema} CASCADE");

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static StorageOptions Options(string connectionString) =>
        new() { Provider = "postgres", ConnectionString = connectionString };
}

/// <summary>A fact that needs the PostgreSQL test server: skips with the reason when it is unreachable.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresTestServer.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>Marks a test class whose <see cref="StoreFactAttribute"/> tests need the PostgreSQL test server.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class UsesPostgresAttribute : Attribute;

/// <summary>
/// A fact of the shared store contract: runs once per provider (each provider's class inherits it), and skips with
/// the reason in classes marked <see cref="UsesPostgresAttribute"/> when the PostgreSQL test server is unreachable.
/// </summary>
[XunitTestCaseDiscoverer("GanBertBots.Tests.Storage.StoreFactDiscoverer", "GanBertBots.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnostics) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var testClass = testMethod.TestClass.Class.ToRuntimeType();
        string? skip = testClass.IsDefined(typeof(UsesPostgresAttribute), inherit: true) ? PostgresTestServer.SkipReason : null;
        yield return new StoreTestCase(diagnostics, options.MethodDisplayOrDefault(), options.MethodDisplayOptionsOrDefault(), testMethod, skip);
    }
}

/// <summary>An xunit test case whose skip reason is decided at discovery (serialised with it).</summary>
public sealed class StoreTestCase : XunitTestCase
{
    string? _skip;

    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public StoreTestCase() { }

    public StoreTestCase(IMessageSink diagnostics, TestMethodDisplay display, TestMethodDisplayOptions displayOptions, ITestMethod method, string? skip)
        : base(diagnostics, display, displayOptions, method) => _skip = skip;

    protected override string GetSkipReason(IAttributeInfo factAttribute) => _skip ?? base.GetSkipReason(factAttribute);

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("StoreSkip", _skip);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        _skip = data.GetValue<string>("StoreSkip");
        base.Deserialize(data);
    }
}
