using GanBertBots.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Host.Retention;

/// <summary>
/// <c>Storage:RetentionDays</c>: deletes submitted texts nobody labelled once they are older than that, at start and
/// then every day (or every retention period, when that is shorter). Replicas may all run it: the delete is the same
/// whoever runs it. A failure (database down) is logged and tried again next time.
/// </summary>
public sealed class RetentionPurge(ILabelStore store, StorageOptions options, ILogger<RetentionPurge> log, TimeProvider? clock = null) : BackgroundService
{
    readonly TimeProvider _clock = clock ?? TimeProvider.System;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.RetentionDays <= 0) return; // keep until /forget
        var retention = TimeSpan.FromDays(options.RetentionDays);
        var every = retention < TimeSpan.FromDays(1) ? retention : TimeSpan.FromDays(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                int deleted = await store.PurgeUnlabelledSubmittedTextsAsync(_clock.GetUtcNow() - retention, stoppingToken);
                if (deleted > 0) log.LogInformation("Retention: deleted {Count} unlabelled submitted texts older than {Days} days", deleted, options.RetentionDays);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e) { log.LogWarning("Retention purge failed ({Message}); trying again in {Every}", e.Message, every); }
            try { await Task.Delay(every, _clock, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }
}
