namespace GanBertBots.Common;

/// <summary>
/// Exponential backoff for retry loops. The wait before retry <c>n</c> (0 after the first failure) is
/// <see cref="Initial"/> × <see cref="Factor"/>ⁿ, capped at <see cref="Max"/>, then shortened at random by up to
/// <see cref="Jitter"/> of itself: 0 waits exactly that long, 0.5 waits between half of it and all of it, 1 anything
/// from zero up ("full jitter"), so that replicas that failed together do not retry in step.
/// <see cref="ExecuteAsync{T}"/> runs an operation with at most <see cref="MaxAttempts"/> tries.
/// </summary>
public sealed class Backoff
{
    readonly double _jitter = 0.5;
    readonly double _factor = 2;
    readonly int _maxAttempts = int.MaxValue;

    /// <summary>A negative <paramref name="initial"/> or <paramref name="max"/> (a setting gone wrong) counts as zero: no wait.</summary>
    public Backoff(TimeSpan initial, TimeSpan max)
    {
        Initial = initial > TimeSpan.Zero ? initial : TimeSpan.Zero;
        Max = max > TimeSpan.Zero ? max : TimeSpan.Zero;
    }

    /// <summary>The wait before the first retry (before jitter).</summary>
    public TimeSpan Initial { get; }

    /// <summary>The longest wait (before jitter).</summary>
    public TimeSpan Max { get; }

    /// <summary>How much each wait grows per failure; 2 by default.</summary>
    public double Factor
    {
        get => _factor;
        init => _factor = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Factor), value, "must be at least 1");
    }

    /// <summary>The share of a wait, 0 to 1, that may be cut at random; 0.5 by default.</summary>
    public double Jitter
    {
        get => _jitter;
        init => _jitter = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Jitter), value, "must be between 0 and 1");
    }

    /// <summary>Tries <see cref="ExecuteAsync{T}"/> makes in all, the first included; unbounded by default.</summary>
    public int MaxAttempts
    {
        get => _maxAttempts;
        init => _maxAttempts = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxAttempts), value, "must be at least 1");
    }

    /// <summary>The clock the waits run on (tests pass a fake one).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Uniform numbers in [0, 1] for the jitter (tests pass fixed ones).</summary>
    public Func<double> Random { get; init; } = System.Random.Shared.NextDouble;

    /// <summary>The wait before retry <paramref name="retry"/> (0 = the first retry, after the first failure).</summary>
    public TimeSpan DelayFor(int retry)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retry);
        double ticks = Initial == TimeSpan.Zero ? 0 : Math.Min(Initial.Ticks * Math.Pow(Factor, retry), Max.Ticks);
        if (Jitter > 0) ticks *= 1 - Jitter * (1 - Math.Clamp(Random(), 0, 1));
        return ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Waits <see cref="DelayFor"/>(<paramref name="retry"/>) on <see cref="Time"/>.</summary>
    public Task WaitAsync(int retry, CancellationToken cancellation) => Task.Delay(DelayFor(retry), Time, cancellation);

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, waiting between tries; a failure that
    /// <paramref name="isTransient"/> does not accept, or the one of the last allowed try, is thrown as it is.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> attempt, Func<Exception, bool> isTransient, CancellationToken cancellation)
    {
        for (int tries = 1; ; tries++)
        {
            try
            {
                return await attempt(cancellation).ConfigureAwait(false);
            }
            catch (Exception e) when (tries < MaxAttempts && isTransient(e))
            {
            }
            await WaitAsync(tries - 1, cancellation).ConfigureAwait(false);
        }
    }
}
