using System.Globalization;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;

namespace GanBertBots.Training.Scheduling;

/// <summary>
/// The moderator commands on models (/retrain, /promote, /rollback, and the last evaluation for /stats), as
/// sentences to send back. The host adapts this to the conversation core's <c>IModelOperations</c>.
/// Promotions and rollbacks are hot-swapped into the running service. Without a <paramref name="trigger"/> (retraining
/// switched off) promotion and rollback still work on the registry, and /retrain says what is off and how to turn it on.
/// </summary>
public sealed class RetrainingCommands(ModelRegistry registry, RetrainingTrigger? trigger, LiveModelSync liveModels)
{
    static readonly string[] Names = [ModelNames.Detector, ModelNames.Generator];

    public const string RetrainingOff =
        "Retraining is switched off on this service (Retraining:Enabled is false), so there are no rounds, nightly or on request. " +
        "To turn it on, set Retraining:Enabled to true (appsettings.json, or Retraining__Enabled=true in the environment) and restart. " +
        "/promote and /rollback work either way.";

    public async Task<string> RetrainAsync(string requestedBy, CancellationToken cancellation)
    {
        if (trigger is null) return RetrainingOff;
        try { return RetrainingTrigger.Describe(await trigger.RequestAsync(requestedBy, cancellation)); }
        catch (Quartz.SchedulerException e) { return "Could not start a retraining round: " + e.Message; }
    }

    /// <summary>
    /// No argument: make the newest registered version of each model live (the last round's candidates, e.g. ones
    /// the gate refused). "NAME VERSION": that version. "VERSION": that version of whichever model has it.
    /// </summary>
    public async Task<string> PromoteAsync(string requestedBy, string? arguments, CancellationToken cancellation)
    {
        var words = (arguments ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var targets = new List<(string Name, string Version)>();
        try
        {
            switch (words.Length)
            {
                case 0:
                    foreach (string name in Names)
                    {
                        var newest = registry.Versions(name).LastOrDefault();
                        if (newest is not null && newest.Version != registry.Live(name)?.Version) targets.Add((name, newest.Version));
                    }
                    if (targets.Count == 0) return "Nothing to promote: the newest versions are already live.";
                    break;
                case 1:
                    var owners = Names.Where(n => registry.Versions(n).Any(v => v.Version == words[0])).ToList();
                    if (owners.Count != 1)
                        return owners.Count == 0
                            ? $"No model has a version {words[0]}. Say /promote generator VERSION or /promote detector VERSION."
                            : $"Both models have a version {words[0]}: say /promote generator {words[0]} or /promote detector {words[0]}.";
                    targets.Add((owners[0], words[0]));
                    break;
                case 2:
                    targets.Add((words[0].ToLowerInvariant(), words[1]));
                    break;
                default:
                    return "Usage: /promote [NAME] [VERSION]";
            }
            var done = new List<string>();
            foreach (var (name, version) in targets)
            {
                var promoted = registry.Promote(name, version, requestedBy);
                done.Add($"{name} {promoted.Version}");
            }
            await liveModels.SyncAsync(cancellation);
            return "Live now: " + string.Join(", ", done) + ".";
        }
        catch (RegistryException e)
        {
            return "Not promoted: " + e.Message;
        }
    }

    /// <summary>No argument: both models go back to their previous live versions. "NAME": that model only.</summary>
    public async Task<string> RollbackAsync(string requestedBy, string? name, CancellationToken cancellation)
    {
        var targets = string.IsNullOrWhiteSpace(name) ? Names : [name.Trim().ToLowerInvariant()];
        var done = new List<string>();
        var refused = new List<string>();
        foreach (string model in targets)
        {
            try
            {
                var back = registry.Rollback(model, requestedBy);
                done.Add($"{model} {back.Version}");
            }
            catch (RegistryException e) { refused.Add(e.Message); }
        }
        if (done.Count > 0) await liveModels.SyncAsync(cancellation);
        string answer = done.Count > 0 ? "Rolled back; live now: " + string.Join(", ", done) + "." : "Nothing rolled back.";
        return refused.Count > 0 ? answer + " (" + string.Join("; ", refused) + ")" : answer;
    }

    /// <summary>One or two lines about the newest round, or null when no round has registered a generator yet.</summary>
    public string? LastEvaluation()
    {
        var newest = registry.Versions(ModelNames.Generator).LastOrDefault(v => v.Metrics.ContainsKey("fool_rate"));
        if (newest is null) return null;
        var m = newest.Metrics;
        string state = m.GetValueOrDefault("promoted") > 0 ? "promoted" : "not promoted";
        return string.Create(CultureInfo.InvariantCulture,
            $"Last round ({newest.Source}, generator {newest.Version}, {state}): fool rate {m["fool_rate"]:0.0%}, perplexity {m.GetValueOrDefault("perplexity"):0.00}.");
    }
}
