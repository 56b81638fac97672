using System.Collections.Concurrent;

namespace GanBertBots.Conversation;

/// <summary>A token bucket per key: <c>burst</c> at once, then <c>perMinute</c> spread over the minute.</summary>
public sealed class RateLimiter(int perMinute, int burst, TimeProvider clock)
{
    readonly ConcurrentDictionary<string, Bucket> _buckets = new();

    /// <summary>Takes one token; when none is left returns false and how long until the next one.</summary>
    public bool TryTake(string key, out TimeSpan retryAfter)
    {
        var bucket = _buckets.GetOrAdd(key, _ => new Bucket { Tokens = burst, Stamp = clock.GetTimestamp() });
        lock (bucket)
        {
            long now = clock.GetTimestamp();
            double refill = clock.GetElapsedTime(bucket.Stamp, now).TotalMinutes * perMinute;
            bucket.Tokens = Math.Min(burst, bucket.Tokens + refill);
            bucket.Stamp = now;
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = TimeSpan.FromMinutes((1 - bucket.Tokens) / perMinute);
            return false;
        }
    }

    sealed class Bucket { public double Tokens; public long Stamp; }
}
