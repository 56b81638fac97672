using System.Threading.RateLimiting;

namespace GanBertBots.Bots.Discord.Gateway;

/// <summary>
/// Identify concurrency across the shards of one process: shards with the same
/// <c>rate_limit_key = shard_id % max_concurrency</c> identify at most once per window (5 s by the docs);
/// different keys go in parallel.
/// </summary>
public sealed class IdentifyGate(int maxConcurrency, TimeSpan window) : IDisposable
{
    readonly Dictionary<int, SlidingWindowRateLimiter> _keys = [];
    readonly int _maxConcurrency = Math.Max(1, maxConcurrency);
    bool _disposed;

    public Task WaitTurnAsync(int shardId, CancellationToken cancellation)
    {
        int rateLimitKey = shardId % _maxConcurrency;
        SlidingWindowRateLimiter? limiter;
        lock (_keys)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_keys.TryGetValue(rateLimitKey, out limiter)) _keys[rateLimitKey] = limiter = RateLimits.SlidingWindow(1, window);
        }
        return limiter.WaitAsync(cancellation);
    }

    public void Dispose()
    {
        lock (_keys)
        {
            _disposed = true;
            foreach (var limiter in _keys.Values) limiter.Dispose();
            _keys.Clear();
        }
    }
}
