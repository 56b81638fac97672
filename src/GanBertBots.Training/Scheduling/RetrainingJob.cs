using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Logging;
using Quartz;

namespace GanBertBots.Training.Scheduling;

/// <summary>
/// The Quartz job of the nightly round (and of manual triggers). Never two at once (per job, across a cluster);
/// the cancellation token fires at shutdown, which discards the half-trained candidate.
/// </summary>
[DisallowConcurrentExecution]
public sealed class RetrainingJob(AdversarialRound round, ILogger<RetrainingJob> log) : IJob
{
    public static readonly JobKey Key = new("adversarial-round", "retraining");
    public const string RequestedByKey = "requested_by";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        string requestedBy = context.MergedJobDataMap.TryGetValue(RequestedByKey, out var by) && by is string s && s.Length > 0
            ? s : "schedule";
        try
        {
            var report = await round.RunAsync(requestedBy, cancellationToken);
            context.Result = report.Outcome.ToString();
            log.LogInformation("Retraining round {Round} ({Trigger}): {Outcome}. {Reason}",
                report.RoundId, context.Trigger.Key, report.Outcome, report.Reason);
        }
        catch (RoundAlreadyRunningException)
        {
            context.Result = "AlreadyRunning";
            log.LogWarning("Retraining trigger {Trigger} skipped: a round is already running in this process", context.Trigger.Key);
        }
    }
}
