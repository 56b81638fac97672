namespace GanBertBots.Storage;

/// <summary>Opens the label store that <see cref="StorageOptions"/> name, with its schema migrated.</summary>
public static class LabelStore
{
    /// <summary>The store for <see cref="StorageOptions.Provider"/>, not yet migrated.</summary>
    public static ILabelStore Create(StorageOptions options, TimeProvider? clock = null) =>
        options.UsesPostgres switch
        {
            false => new SqliteLabelStore(options, clock),
            true => new PostgresLabelStore(options, clock),
            null => throw new StorageException(options.UnknownProvider),
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
