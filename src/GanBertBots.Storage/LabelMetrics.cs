using System.Diagnostics.Metrics;

namespace GanBertBots.Storage;

/// <summary>
/// Labels the store has committed, by source (moderator, user feedback, game guess): the counter
/// <c>ganbertbots.labels.written</c> of the service's meter, "GanBertBots", which the host exports.
/// </summary>
static class LabelMetrics
{
    static readonly Meter Meter = new("GanBertBots");
    static readonly Counter<long> Written = Meter.CreateCounter<long>("ganbertbots.labels.written", "{label}",
        "Labels committed to the label store, by source");

    /// <summary>Counts one committed label (call after the transaction committed, never for a guess already counted).</summary>
    public static void Committed(LabelSource source) =>
        Written.Add(1, new KeyValuePair<string, object?>("source", source.ToString().ToLowerInvariant()));
}
