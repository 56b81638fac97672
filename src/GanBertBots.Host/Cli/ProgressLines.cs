using System.Diagnostics;

namespace GanBertBots.Host.Cli;

/// <summary>
/// Steps per second and the time left of a training run, measured in this process: from when it was made (just before
/// training starts) to the latest step. A resumed run's earlier steps do not count towards the rate.
/// </summary>
public sealed class TrainingPace
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    long _stepsBefore = -1;

    /// <summary>Notes that <paramref name="stepsDone"/> steps of the run are done; returns (steps per second, time left).</summary>
    public (double StepsPerSecond, TimeSpan? Left) Observe(long stepsDone, long totalSteps)
    {
        if (_stepsBefore < 0) _stepsBefore = Math.Max(0, stepsDone - 1); // the first step this process took
        double seconds = _clock.Elapsed.TotalSeconds;
        long here = stepsDone - _stepsBefore;
        if (here <= 0 || seconds <= 0) return (0, null);
        double rate = here / seconds;
        return (rate, TimeSpan.FromSeconds(Math.Max(0, totalSteps - stepsDone) / rate));
    }

    /// <summary>42s, 1m05s, 2h03m.</summary>
    public static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:00}s"
        : $"{(int)Math.Ceiling(t.TotalSeconds)}s";

    /// <summary>"1.2 step/s · ETA 1m05s" (or "0.05 step/s").</summary>
    public static string Describe(double stepsPerSecond, TimeSpan? left) =>
        (stepsPerSecond >= 1 ? $"{stepsPerSecond:F1}" : $"{stepsPerSecond:F2}") + " step/s" + (left is { } l ? $" · ETA {Format(l)}" : "");
}

/// <summary>
/// Progress for logs (output not a terminal): one plain line on a run's first step, every <c>every</c> steps and at the
/// end of each epoch, e.g. <c>epoch 1/3 step 40/120 loss 0.53 · 1.2 step/s · ETA 1m05s</c>.
/// </summary>
public sealed class ProgressLines(TextWriter output, int every)
{
    /// <summary>The default of <c>--progress-every</c>.</summary>
    public const int DefaultEvery = 10;

    readonly TrainingPace _pace = new();
    bool _first = true;

    /// <param name="step">Step within what <paramref name="steps"/> counts (the epoch, or the run).</param>
    /// <param name="stepsDone">Steps of the whole run done, for the rate and ETA; <paramref name="totalSteps"/> of the whole run.</param>
    /// <param name="losses">e.g. "loss 0.53" or "L_D 0.530 L_G 0.700".</param>
    public void Report(int epoch, int epochs, long step, long steps, long stepsDone, long totalSteps, string losses)
    {
        var (rate, left) = _pace.Observe(stepsDone, totalSteps);
        if (!(_first || step % every == 0 || step == steps)) return;
        _first = false;
        output.WriteLine($"epoch {epoch}/{epochs} step {step}/{steps} {losses} · {TrainingPace.Describe(rate, left)}");
        output.Flush();
    }

    /// <summary>Reads <c>--progress-every N</c> (at least 1).</summary>
    public static int Every(CliArgs a)
    {
        int every = a.GetInt("progress-every", DefaultEvery);
        if (every < 1) throw new CliUsageException($"--progress-every must be at least 1 (got {every})");
        return every;
    }
}

/// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> posts to the thread pool, so lines could interleave or come late).</summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
