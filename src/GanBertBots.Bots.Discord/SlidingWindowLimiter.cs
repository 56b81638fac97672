namespace GanBertBots.Bots.Discord;

/// <summary>
/// At most <c>limit</c> acquisitions in any window of <c>window</c> length (a true sliding window over the
/// timestamps of past acquisitions, so bursts at a window edge cannot double the rate). A caller may keep
/// a reserve free for more urgent callers (heartbeats are never starved by ordinary sends). Used for the gateway's 120 events per 60 s and REST's global 50 requests per second.
/// </summary>
public sealed class SlidingWindowLimiter
{
    readonly int _limit;
    readonly TimeSpan _window;
    readonly TimeProvider _time;
    readonly Queue<long> _stamps = new();

    public SlidingWindowLimiter(int limit, TimeSpan window, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window));
        _limit = limit;
        _window = window;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How many acquisitions the current window still allows (for tests and logs).</summary>
    public int Available
    {
        get
        {
            lock (_stamps) { Trim(_time.GetTimestamp()); return _limit - _stamps.Count; }
        }
    }

    /// <summary>Waits until one more acquisition fits in the window, then records it.</summary>
    /// <param name="reserve">Slots to keep free for more urgent callers (heartbeats): this caller needs limit - reserve.</param>
    public async Task AcquireAsync(CancellationToken cancellation, int reserve = 0)
    {
        int allowed = Math.Max(1, _limit - reserve);
        while (true)
        {
            TimeSpan wait;
            lock (_stamps)
            {
                long now = _time.GetTimestamp();
                Trim(now);
                if (_stamps.Count < allowed)
                {
                    _stamps.Enqueue(now);
                    return;
                }
                // The stamp whose leaving the window makes room for this caller.
                long leaving = _stamps.ElementAt(_stamps.Count - allowed);
                wait = _window - _time.GetElapsedTime(leaving, now);
            }
            if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, cancellation).ConfigureAwait(false);
        }
    }

    void Trim(long now)
    {
        while (_stamps.Count > 0 && _time.GetElapsedTime(_stamps.Peek(), now) >= _window) _stamps.Dequeue();
    }
}
