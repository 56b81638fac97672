namespace GanBertBots.Storage;

/// <summary>
/// The <c>Storage</c> section of appsettings.json (environment override: <c>Storage__Provider</c>,
/// <c>Storage__ConnectionString</c>, ...).
/// </summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>sqlite</c> (default: one file, one node) or <c>postgres</c> (several replicas).</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>
    /// ADO.NET connection string. Empty for SQLite means <c>Data Source={DataDirectory}/ganbertbots.db</c>;
    /// required for PostgreSQL, e.g. <c>Host=db;Port=5432;Username=ganbert;Password=...;Database=ganbert</c>.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Where the default SQLite file lives (created when missing).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>How many times one operation is tried when the failure is transient (busy, dropped connection).</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>SQLite: how long a writer waits for another writer's lock before it reports "busy".</summary>
    public int BusyTimeoutMs { get; set; } = 5000;

    /// <summary>Longest text accepted (characters); longer ones are refused with a clear message.</summary>
    public int MaxTextLength { get; set; } = 20_000;
    /// <summary>
    /// Texts people sent to be judged that nobody labelled are deleted this many days after they arrived (fractions
    /// allowed). 0: kept until their sender sends /forget.
    /// </summary>
    public double RetentionDays { get; set; }

    public const string DefaultSqliteFile = "ganbertbots.db";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first key whose value cannot work.</summary>
    /// <summary>Which store <see cref="Provider"/> names: false SQLite (also when empty), true PostgreSQL, null neither.</summary>
    public bool? UsesPostgres => (Provider ?? "").Trim().ToLowerInvariant() switch
    {
        "" or "sqlite" => false,
        "postgres" or "postgresql" or "npgsql" => true,
        _ => null,
    };

    /// <summary>The one-line refusal of a <see cref="Provider"/> that names no store.</summary>
    public string UnknownProvider => $"Storage:Provider '{Provider}' is unknown; use sqlite or postgres";

    public void Validate()
    {
        if (UsesPostgres is not { } postgres) throw new ArgumentException(UnknownProvider);
        if (postgres && string.IsNullOrWhiteSpace(ConnectionString))
            throw new ArgumentException("Storage:ConnectionString is required with Storage:Provider postgres (Host=...;Username=...;Password=...;Database=...)");
        if (MaxAttempts < 1) throw new ArgumentException("Storage:MaxAttempts must be at least 1");
        if (BusyTimeoutMs < 0) throw new ArgumentException("Storage:BusyTimeoutMs must not be negative");
        if (MaxTextLength < 1) throw new ArgumentException("Storage:MaxTextLength must be at least 1");
        if (!(RetentionDays >= 0) || double.IsInfinity(RetentionDays))
            throw new ArgumentException("Storage:RetentionDays must be 0 (keep) or a positive number of days");
    }
}
