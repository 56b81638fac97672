using GanBertBots.Training.Rounds;
using Quartz;

namespace GanBertBots.Training.Scheduling;

/// <summary>What became of a request for a round now.</summary>
public enum RetrainRequestOutcome
{
    /// <summary>A round will start as soon as a scheduler thread (on any node) picks it up.</summary>
    Queued,
    /// <summary>Somebody already asked and that round has not finished: no second round.</summary>
    AlreadyQueued,
    /// <summary>A round is running in this process.</summary>
    AlreadyRunning,
}

/// <summary>
/// Starts the retraining job now: moderator /retrain and <c>retrain --now</c>. All manual requests share one trigger
/// key, so requests arriving together (on one node or several sharing the store) give one run; the trigger
/// disappears when its run finishes, and the next request starts a new round.
/// </summary>
public sealed class RetrainingTrigger(ISchedulerFactory schedulers, AdversarialRound? round = null)
{
    public static readonly TriggerKey ManualKey = new("retrain-now", "retraining");

    public async Task<RetrainRequestOutcome> RequestAsync(string requestedBy, CancellationToken cancellation = default)
    {
        if (round is { IsRunning: true }) return RetrainRequestOutcome.AlreadyRunning;
        var scheduler = await schedulers.GetScheduler(cancellation);
        var trigger = TriggerBuilder.Create()
            .WithIdentity(ManualKey)
            .ForJob(RetrainingJob.Key)
            .UsingJobData(RetrainingJob.RequestedByKey, requestedBy)
            .StartNow()
            .Build();
        try
        {
            await scheduler.ScheduleJob(trigger, cancellationToken: cancellation);
            return RetrainRequestOutcome.Queued;
        }
        catch (ObjectAlreadyExistsException)
        {
            return RetrainRequestOutcome.AlreadyQueued;
        }
    }

    /// <summary>A sentence for the person who asked.</summary>
    public static string Describe(RetrainRequestOutcome outcome) => outcome switch
    {
        RetrainRequestOutcome.Queued => "Retraining round queued: it starts within seconds and the report follows when it ends.",
        RetrainRequestOutcome.AlreadyQueued => "A retraining round was already requested and has not finished yet; not starting a second one.",
        _ => "A retraining round is running right now; its report follows when it ends.",
    };
}
