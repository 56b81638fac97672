using System.Collections.Concurrent;

namespace GanBertBots.Bots.Discord.Gateway;

/// <summary>
/// Identify concurrency across the shards of one process: shards with the same
/// <c>rate_limit_key = shard_id % max_concurrency</c> identify at most once per window (5 s by the docs);
/// different keys go in parallel.
/// </summary>
public sealed class IdentifyGate(int maxConcurrency, TimeSpan window, TimeProvider? time = null)
{
    readonly ConcurrentDictionary<int, SlidingWindowLimiter> _keys = new();
    readonly int _maxConcurrency = Math.Max(1, maxConcurrency);

    public Task WaitTurnAsync(int shardId, CancellationToken cancellation) =>
        _keys.GetOrAdd(shardId % _maxConcurrency, _ => new SlidingWindowLimiter(1, window, time)).AcquireAsync(cancellation);
}
