using GanBertBots.Storage;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Host.Composition;

/// <summary>
/// Brings the label store's schema up to date when the service starts, before anything else uses it. A store that
/// cannot be reached stops the start with <see cref="StorageException"/> (the run verb prints it and exits 1).
/// </summary>
public sealed class LabelStoreStartup(ILabelStore store) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken) => await store.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
