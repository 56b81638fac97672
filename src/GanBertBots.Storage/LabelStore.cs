namespace GanBertBots.Storage;

/// <summary>Opens the label store that <see cref="StorageOptions"/> name, with its schema migrated.</summary>
public static class LabelStore
{
    /// <summary>The store for <see cref="StorageOptions.Provider"/>, not yet migrated.</summary>
    public static ILabelStore Create(StorageOptions options, TimeProvider? clock = null) =>
        (options.Provider ?? "").Trim().ToLowerInvariant() switch
        {
            "" or "sqlite" => new SqliteLabelStore(options, clock),
            "postgres" or "postgresql" or "npgsql" => new PostgresLabelStore(options, clock),
            var other => throw new StorageException($"Storage:Provider '{other}' is unknown; use sqlite or postgres"),
        };

    /// <summary>Creates the store and applies pending migrations (refusing a schema newer than this build).</summary>
    public static async Task<ILabelStore> OpenAsync(StorageOptions options, TimeProvider? clock = null, CancellationToken cancellation = default)
    {
        var store = Create(options, clock);
        try
        {
            await store.MigrateAsync(cancellation);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }
}
