using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Quartz;

namespace GanBertBots.Host.Cli;

/// <summary>
/// <c>retrain --now</c>: asks the running service for an adversarial round now, through the Quartz store it shares
/// (Retraining:Store sqlite or postgres). The same trigger as the moderators' /retrain: a request while one is pending
/// or running gives no second round. <c>retrain --here</c>: rounds in this process instead (<see cref="RetrainHere"/>).
/// </summary>
public sealed class RetrainVerb : ICliVerb
{
    public string Name => "retrain";
    public string Summary => "Start an adversarial retraining round now (in the running service, or --here in this process)";
    public string Usage => """
        Usage: ganbertbots retrain --now
               ganbertbots retrain --here [--rounds N] [--report DIR]

          --now      put a "run now" trigger into the Quartz store the service reads (Retraining:Store, Retraining:ConnectionString).
                     The service (any replica, one of them) starts the round when its scheduler next looks: at once on the
                     node that shares this process, within Quartz's idle wait (30 s) otherwise. The report goes to the moderators.
          --here     run rounds in this process, one after another, each on the models the previous one promoted: the label
                     store (Storage), the registry (Retraining:RegistryRoot) and the real steps, as the service would. Needs a
                     live generator and detector (models register NAME DIR --promote). Prints one table row per round, then the
                     table; writes rounds.md and rounds.json into --report DIR (default: the registry root).
                     A service running at the same time picks the promotions up within Retraining:FollowInterval.
          --rounds N how many rounds (default 1); a failed round ends the run (exit code 1)

        The in-memory store (Retraining:Store=memory) cannot be reached from another process: use /retrain in the chat.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "now", "here");
        bool now = a.Flag("now"), here = a.Flag("here");
        if (now && here) throw new CliUsageException("say --now or --here, not both");
        if (here) return await RetrainHere.RunAsync(a, context);
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        if (!now) throw new CliUsageException("say --now (a round in the service) or --here (rounds in this process); scheduled rounds follow Retraining:Cron");

        var options = new RetrainingOptions();
        context.Configuration.GetSection(RetrainingOptions.Section).Bind(options);
        try { options.Validate(); }
        catch (ArgumentException e) { context.Error.WriteLine($"retrain: {e.Message}"); return 1; }
        if (options.Store.Equals("memory", StringComparison.OrdinalIgnoreCase))
        {
            context.Error.WriteLine("retrain: Retraining:Store is memory, which only the service itself can see; " +
                                    "use /retrain in the moderators' chat, or configure a sqlite or postgres store");
            return 1;
        }

        try
        {
            await QuartzSchema.ApplyAsync(options, context.Cancellation);
            var factory = QuartzSchedulerBuilder.Create(q => RetrainingServiceCollectionExtensions.ConfigureStore(q, options)).Build();
            try
            {
                var outcome = await new RetrainingTrigger(factory).RequestAsync("cli:" + Environment.UserName, context.Cancellation);
                context.Out.WriteLine(RetrainingTrigger.Describe(outcome));
                return 0;
            }
            finally
            {
                if (factory is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync();
                else (factory as IDisposable)?.Dispose();
            }
        }
        catch (JobPersistenceException e) when (e.Message.Contains(RetrainingJob.Key.Name, StringComparison.Ordinal))
        {
            context.Error.WriteLine($"retrain: the service has not registered the retraining job in this store yet (start it once): {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is SchedulerException or InvalidOperationException)
        {
            context.Error.WriteLine($"retrain: {e.Message}");
            return 1;
        }
    }
}
