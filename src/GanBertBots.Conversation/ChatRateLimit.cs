using System.Threading.RateLimiting;

namespace GanBertBots.Conversation;

/// <summary>
/// Commands and button presses per person (<c>Bots:MessagesPerMinute</c>, <c>Bots:Burst</c>): a token bucket per
/// platform-qualified user on System.Threading.RateLimiting, holding <c>Burst</c> tokens and refilled at the per-minute
/// rate. Idle buckets are dropped by the partitioned limiter, so memory follows the active users.
/// </summary>
public sealed class ChatRateLimit : IDisposable
{
    readonly PartitionedRateLimiter<string> _limiter;

    public ChatRateLimit(int perMinute, int burst)
    {
        // The partitioned limiter refills its buckets on a 100 ms tick; a period shorter than that would lose tokens.
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(1).Ticks / perMinute, TimeSpan.FromMilliseconds(100).Ticks));
        int perPeriod = Math.Max(1, (int)Math.Round(perMinute * period.TotalMinutes));
        _limiter = PartitionedRateLimiter.Create<string, string>(user => RateLimitPartition.GetTokenBucketLimiter(user, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst, TokensPerPeriod = perPeriod, ReplenishmentPeriod = period, QueueLimit = 0, AutoReplenishment = false,
        }));
    }

    /// <summary>Takes one token for <paramref name="user"/>; when none is left returns false and how long until the next.</summary>
    public bool TryTake(string user, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(user);
        retryAfter = lease.IsAcquired ? TimeSpan.Zero
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
