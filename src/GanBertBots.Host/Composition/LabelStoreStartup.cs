using GanBertBots.Storage;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Host.Composition;

/// <summary>
/// Brings the label store's schema up to date when the service starts, before anything else uses it (once: `run` calls it
/// ahead of the host's start so that a store that cannot be reached is one clear line, and the host's own start then
/// finds it done). A store that cannot be reached stops the start with <see cref="StorageException"/>.
/// </summary>
public sealed class LabelStoreStartup(ILabelStore store) : IHostedService
{
    readonly SemaphoreSlim _once = new(1, 1);
    bool _migrated;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _once.WaitAsync(cancellationToken);
        try
        {
            if (_migrated) return;
            await store.MigrateAsync(cancellationToken);
            _migrated = true;
        }
        finally { _once.Release(); }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
