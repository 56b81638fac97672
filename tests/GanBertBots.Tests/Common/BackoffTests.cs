using GanBertBots.Common;

namespace GanBertBots.Tests.Common;

/// <summary>The shared retry backoff, on a clock that moves only when told to.</summary>
public sealed class BackoffTests
{
    /// <summary>A clock whose timers fire when <see cref="Advance"/> passes their due time.</summary>
    sealed class ManualClock : TimeProvider
    {
        readonly List<ManualTimer> _timers = [];
        DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        /// <summary>Every wait a timer was started with, in order.</summary>
        public List<TimeSpan> Waits { get; } = [];

        public override DateTimeOffset GetUtcNow() { lock (_timers) return _now; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, callback, state);
            lock (_timers) { Waits.Add(dueTime); _timers.Add(timer); }
            timer.Change(dueTime, period);
            return timer;
        }

        public void Advance(TimeSpan by)
        {
            List<ManualTimer> due;
            lock (_timers)
            {
                _now += by;
                due = _timers.Where(t => t.Due is { } at && at <= _now).ToList();
                foreach (var t in due) t.Due = null;
            }
            foreach (var t in due) t.Fire();
        }

        sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
        {
            public DateTimeOffset? Due;

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                lock (clock._timers) Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
                return true;
            }

            public void Fire() => callback(state);
            public void Dispose() { lock (clock._timers) { Due = null; clock._timers.Remove(this); } }
            public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }
        }
    }

    sealed class Transient() : Exception("try again");

    static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    static async Task Until(Func<bool> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "timed out");
            await Task.Delay(5);
        }
    }

    [Fact]
    public void Delays_double_from_the_initial_one_up_to_the_cap()
    {
        var backoff = new Backoff(Second, TimeSpan.FromSeconds(20)) { Jitter = 0 };
        Assert.Equal([1, 2, 4, 8, 16, 20, 20], Enumerable.Range(0, 7).Select(n => backoff.DelayFor(n).TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(20), backoff.DelayFor(10_000)); // no overflow however long the streak
        var tripling = new Backoff(Second, TimeSpan.FromMinutes(1)) { Jitter = 0, Factor = 3 };
        Assert.Equal([1, 3, 9, 27], Enumerable.Range(0, 4).Select(n => tripling.DelayFor(n).TotalSeconds));
    }

    [Fact]
    public void Jitter_cuts_at_most_its_share_of_each_delay()
    {
        double draw = 0;
        var backoff = new Backoff(Second, TimeSpan.FromSeconds(8)) { Jitter = 0.5, Random = () => draw };
        Assert.Equal([0.5, 1, 2, 4, 4], Enumerable.Range(0, 5).Select(n => backoff.DelayFor(n).TotalSeconds)); // the low end
        draw = 1;
        Assert.Equal([1, 2, 4, 8, 8], Enumerable.Range(0, 5).Select(n => backoff.DelayFor(n).TotalSeconds));   // the high end

        var full = new Backoff(Second, TimeSpan.FromSeconds(8)) { Jitter = 1 };
        var random = new Backoff(Second, TimeSpan.FromSeconds(8)) { Jitter = 0.25 };
        for (int i = 0; i < 1000; i++)
        {
            int n = i % 6;
            double capped = Math.Min(8, Math.Pow(2, n));
            double any = full.DelayFor(n).TotalSeconds, quarter = random.DelayFor(n).TotalSeconds;
            Assert.InRange(any, 0, capped);
            Assert.InRange(quarter, 0.75 * capped, capped);
        }
        // Not all the same: the point of jitter.
        Assert.True(Enumerable.Range(0, 20).Select(_ => full.DelayFor(3)).Distinct().Count() > 1);
    }

    [Fact]
    public void Settings_out_of_range_are_refused_and_negative_delays_mean_no_wait()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(Second, Second) { Jitter = 1.5 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(Second, Second) { MaxAttempts = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(Second, Second) { Factor = 0.5 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(Second, Second).DelayFor(-1));
        Assert.Equal(TimeSpan.Zero, new Backoff(-Second, Second).DelayFor(3));
    }

    [Fact]
    public async Task Transient_failures_are_retried_after_the_backoff_on_the_given_clock()
    {
        var clock = new ManualClock();
        var backoff = new Backoff(Second, TimeSpan.FromSeconds(30)) { Jitter = 0, Time = clock, MaxAttempts = 5 };
        int tries = 0;
        var run = backoff.ExecuteAsync(_ => ++tries < 3 ? throw new Transient() : Task.FromResult("done"), e => e is Transient, CancellationToken.None);

        Assert.Equal(1, tries);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        await Task.Delay(50);
        Assert.Equal(1, tries);                                  // not before the first delay is over
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await Until(() => Volatile.Read(ref tries) == 2);
        clock.Advance(TimeSpan.FromSeconds(1.5));
        await Task.Delay(50);
        Assert.Equal(2, tries);                                  // the second delay is twice the first
        clock.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal("done", await run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, tries);
        Assert.Equal([Second, 2 * Second], clock.Waits);
    }

    [Fact]
    public async Task The_attempt_budget_bounds_the_tries_and_the_last_failure_is_thrown_as_it_is()
    {
        var backoff = new Backoff(TimeSpan.Zero, TimeSpan.Zero) { MaxAttempts = 3 };
        int tries = 0;
        var last = new Transient();
        var thrown = await Assert.ThrowsAsync<Transient>(() => backoff.ExecuteAsync<int>(_ => { tries++; throw tries == 3 ? last : new Transient(); },
            e => e is Transient, CancellationToken.None));
        Assert.Same(last, thrown);
        Assert.Equal(3, tries);

        // A failure that is not transient is not retried at all.
        tries = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => backoff.ExecuteAsync<int>(_ => { tries++; throw new InvalidOperationException(); },
            e => e is Transient, CancellationToken.None));
        Assert.Equal(1, tries);
    }

    [Fact]
    public async Task Cancelling_during_a_wait_ends_the_retries()
    {
        var clock = new ManualClock();
        var backoff = new Backoff(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)) { Time = clock };
        using var stop = new CancellationTokenSource();
        int tries = 0;
        var run = backoff.ExecuteAsync<int>(_ => { tries++; throw new Transient(); }, e => e is Transient, stop.Token);
        Assert.False(run.IsCompleted);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, tries);
    }
}
