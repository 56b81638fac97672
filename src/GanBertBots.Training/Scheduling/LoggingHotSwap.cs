using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Training.Scheduling;

/// <summary>Default hot swap: logs that a restart is needed (the host replaces it with the inference service's swap).</summary>
sealed class LoggingHotSwap(ILogger<LoggingHotSwap> log) : IModelHotSwap
{
    public Task SwapAsync(string modelName, string version, string directory, CancellationToken cancellation)
    {
        log.LogWarning("{Model} {Version} is live in the registry; no hot swap is registered, so the service picks it up at restart",
            modelName, version);
        return Task.CompletedTask;
    }
}
