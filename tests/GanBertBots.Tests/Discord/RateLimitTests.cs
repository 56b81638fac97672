using System.Diagnostics;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Discord.Gateway;

namespace GanBertBots.Tests.Discord;

/// <summary>Discord's send limits on System.Threading.RateLimiting (on the real clock: the library takes no TimeProvider).</summary>
public sealed class RateLimitTests
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Send_window_allows_the_limit_then_waits_and_keeps_a_reserve_for_heartbeats()
    {
        using var budget = new SendBudget(4, TimeSpan.FromMilliseconds(400), reserve: 1);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) await budget.AcquireAsync(urgent: false, CancellationToken.None);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(300), "the first three ordinary sends pass at once");
        // The fourth slot is reserved: an ordinary send must wait, a heartbeat passes at once.
        var ordinary = budget.AcquireAsync(urgent: false, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(ordinary.IsCompleted);
        await budget.AcquireAsync(urgent: true, CancellationToken.None);
        Assert.Equal(0, budget.Available);
        await ordinary.WaitAsync(Long);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(390), $"the ordinary send waited for the window ({clock.Elapsed.TotalMilliseconds} ms)");
    }

    [Fact]
    public async Task A_heartbeat_past_the_reserve_takes_a_free_ordinary_slot_and_the_total_stays_at_the_limit()
    {
        using var budget = new SendBudget(4, TimeSpan.FromSeconds(30), reserve: 1);
        for (int i = 0; i < 3; i++) await budget.AcquireAsync(urgent: true, CancellationToken.None).WaitAsync(Long);
        Assert.Equal(1, budget.Available);
        await budget.AcquireAsync(urgent: false, CancellationToken.None).WaitAsync(Long);
        Assert.Equal(0, budget.Available);
        // Over the limit either kind waits, and a wait can be cancelled.
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => budget.AcquireAsync(urgent: true, stop.Token).WaitAsync(Long));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => budget.AcquireAsync(urgent: false, stop.Token).WaitAsync(Long));
    }

    [Fact]
    public async Task A_sliding_window_gives_a_permit_back_no_sooner_than_a_window_after_it_was_taken()
    {
        using var window = RateLimits.SlidingWindow(3, TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) await window.WaitAsync(CancellationToken.None);
        var first = clock.Elapsed;
        var waiters = Enumerable.Range(0, 3).Select(_ => window.WaitAsync(CancellationToken.None)).ToList();
        await waiters[0].WaitAsync(Long);
        var fourth = clock.Elapsed;
        Assert.True(fourth - first >= TimeSpan.FromMilliseconds(290), $"the fourth permit came {(fourth - first).TotalMilliseconds} ms after the third");
        await Task.WhenAll(waiters).WaitAsync(Long); // queued, in order, none refused
        Assert.Equal(0, window.Available());
    }

    [Fact]
    public async Task Identify_waits_a_window_per_rate_limit_key_and_other_keys_go_at_once()
    {
        using var gate = new IdentifyGate(maxConcurrency: 2, TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await gate.WaitTurnAsync(0, CancellationToken.None).WaitAsync(Long);
        await gate.WaitTurnAsync(1, CancellationToken.None).WaitAsync(Long);       // key 1: at once
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(250), $"two keys took {clock.Elapsed.TotalMilliseconds} ms");
        await gate.WaitTurnAsync(2, CancellationToken.None).WaitAsync(Long);       // key 0 again: a window later
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), $"shard 2 identified after {clock.Elapsed.TotalMilliseconds} ms");
    }
}
