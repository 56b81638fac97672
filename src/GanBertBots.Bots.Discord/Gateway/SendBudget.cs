using System.Threading.RateLimiting;

namespace GanBertBots.Bots.Discord.Gateway;

/// <summary>
/// One connection's gateway send budget: at most <c>limit</c> sends in any window, <c>reserve</c> of them kept for urgent
/// sends so that heartbeats are never starved by ordinary ones. Two sliding windows: ordinary sends share
/// <c>limit - reserve</c>; an urgent send takes from the reserve, else a free ordinary slot, else waits for the reserve.
/// </summary>
sealed class SendBudget : IDisposable
{
    readonly SlidingWindowRateLimiter _ordinary;
    readonly SlidingWindowRateLimiter _reserve;

    public SendBudget(int limit, TimeSpan window, int reserve)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(reserve, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(reserve, limit);
        _ordinary = RateLimits.SlidingWindow(limit - reserve, window);
        _reserve = RateLimits.SlidingWindow(reserve, window);
    }

    /// <summary>Sends the window allows at once now, urgent ones included (tests, logs).</summary>
    public int Available => _ordinary.Available() + _reserve.Available();

    /// <summary>Waits until one more send fits in the window, and counts it.</summary>
    public Task AcquireAsync(bool urgent, CancellationToken cancellation)
    {
        if (!urgent) return _ordinary.WaitAsync(cancellation);
        using (var lease = _reserve.AttemptAcquire()) if (lease.IsAcquired) return Task.CompletedTask;
        using (var lease = _ordinary.AttemptAcquire()) if (lease.IsAcquired) return Task.CompletedTask;
        return _reserve.WaitAsync(cancellation);
    }

    public void Dispose()
    {
        _ordinary.Dispose();
        _reserve.Dispose();
    }
}
