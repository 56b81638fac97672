using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Training.Scheduling;

/// <summary>Default notifier: writes the report to the log (the host replaces it with the moderators' chats).</summary>
sealed class LoggingRoundNotifier(ILogger<LoggingRoundNotifier> log) : IRoundNotifier
{
    public Task RoundFinishedAsync(RoundReport report, CancellationToken cancellation)
    {
        log.LogInformation("{Report}", report.ToMarkdown());
        return Task.CompletedTask;
    }
}
