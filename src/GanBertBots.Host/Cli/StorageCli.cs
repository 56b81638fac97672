using GanBertBots.Storage;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Host.Cli;

/// <summary>The label store for CLI verbs, from the <c>Storage</c> section of the configuration.</summary>
static class StorageCli
{
    public static StorageOptions Options(CliContext context)
    {
        var options = new StorageOptions();
        context.Configuration.GetSection(StorageOptions.Section).Bind(options);
        return options;
    }

    /// <summary>Runs <paramref name="work"/> against the configured store; storage and input failures become exit code 1 with the reason.</summary>
    public static async Task<int> WithStoreAsync(CliContext context, string verb, Func<ILabelStore, StorageOptions, Task<int>> work)
    {
        var options = Options(context);
        try
        {
            await using var store = await LabelStore.OpenAsync(options, cancellation: context.Cancellation);
            return await work(store, options);
        }
        catch (Exception e) when (e is StorageException or FormatException or FileNotFoundException or UnauthorizedAccessException or IOException)
        {
            context.Error.WriteLine($"{verb}: {e.Message}");
            return 1;
        }
    }

    public static string Describe(StorageOptions options) =>
        options.UsesPostgres == true
            ? "postgres"
            : $"sqlite {new SqliteLabelStore(options).DataSource}";
}
