using System.Threading.RateLimiting;

namespace GanBertBots.Bots.Discord;

/// <summary>
/// Discord's send limits (the gateway's 120 events per 60 s, identifies per 5 s, REST's global 50 requests per second)
/// on <see cref="System.Threading.RateLimiting"/>: a caller over the limit waits its turn, in order, and is never refused.
/// </summary>
static class RateLimits
{
    const int Segments = 10;

    /// <summary>
    /// At most <paramref name="limit"/> permits in any <paramref name="window"/>. The library's window slides a tenth at a
    /// time; it is made one tenth longer than asked, so a permit comes back no sooner than a whole window after it was
    /// taken (and at most a tenth later), and no burst at a window's edge can go over the limit. Runs on the system clock:
    /// the library takes no <see cref="TimeProvider"/>. Dispose it (it replenishes on a timer).
    /// </summary>
    public static SlidingWindowRateLimiter SlidingWindow(int limit, TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        var segment = TimeSpan.FromTicks((window.Ticks + Segments - 1) / Segments);
        return new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
        {
            PermitLimit = limit,
            Window = segment * (Segments + 1),
            SegmentsPerWindow = Segments + 1,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    /// <summary>Waits for one permit. Throws when cancelled, or when the limiter is disposed meanwhile.</summary>
    public static async Task WaitAsync(this RateLimiter limiter, CancellationToken cancellation)
    {
        using var lease = await limiter.AcquireAsync(1, cancellation).ConfigureAwait(false);
        if (!lease.IsAcquired) throw new ObjectDisposedException(limiter.GetType().Name, "The rate limiter was disposed while waiting for it.");
    }

    /// <summary>Permits the limiter would give at once now.</summary>
    public static int Available(this RateLimiter limiter) => (int)(limiter.GetStatistics()?.CurrentAvailablePermits ?? 0);
}
