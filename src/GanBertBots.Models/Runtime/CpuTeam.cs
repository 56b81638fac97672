namespace GanBertBots.Models.Runtime;

/// <summary>
/// A few threads that share the chunks of one job: the CPU decoding kernels split a matrix into
/// chunks and every member, the caller included, takes the next chunk from a shared counter until
/// none is left. A member the OS has not scheduled yet simply takes no chunk, so the caller never
/// waits on a thread that has not started; it only waits for chunks already in progress.
/// <para>
/// A decoding step issues about fifty jobs a few microseconds apart, so waking a sleeping thread
/// for each (tens of microseconds) would cost more than the work. Members therefore spin between
/// jobs (yielding the core to any other runnable thread) for <see cref="SpinTime"/>, then sleep
/// until the next job.
/// </para>
/// </summary>
public sealed class CpuTeam
{
    /// <summary>How long an idle member keeps looking for work before it sleeps.</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(2);

    static readonly object Gate = new();
    static CpuTeam? _shared;

    /// <summary>The process-wide team of <paramref name="size"/> members (the caller counts as one).</summary>
    public static CpuTeam Shared(int size)
    {
        size = Math.Clamp(size, 1, Environment.ProcessorCount);
        lock (Gate)
        {
            if (_shared is null || _shared.Size != size)
            {
                _shared?.Retire();
                _shared = new CpuTeam(size);
            }
            return _shared;
        }
    }

    public int Size { get; }

    // The job being worked on. _state packs the job's generation (high 32 bits) with the next chunk
    // to hand out (low 32 bits), so a member that read an older job can never take a newer job's chunk.
    readonly object _jobLock = new();
    long _state;
    Action<int>? _body;
    int _chunks;
    int _done;
    Exception? _failure;
    int _sleeping;
    volatile bool _retired;
    readonly SemaphoreSlim _wake = new(0);

    CpuTeam(int size)
    {
        Size = size;
        for (int i = 1; i < size; i++)
            new Thread(Work) { IsBackground = true, Name = $"cpu-team-{i}" }.Start();
    }

    /// <summary>Runs <paramref name="body"/>(0 .. chunks-1), each chunk exactly once, spread over the team; returns when all are done.</summary>
    public void For(int chunks, Action<int> body)
    {
        if (chunks <= 0) return;
        if (Size == 1 || chunks == 1)
        {
            for (int c = 0; c < chunks; c++) body(c);
            return;
        }
        lock (_jobLock)   // one job at a time; callers on other threads queue here
        {
            _body = body;
            _chunks = chunks;
            _done = 0;
            _failure = null;
            long generation = (Volatile.Read(ref _state) >> 32) + 1;
            Interlocked.Exchange(ref _state, generation << 32);   // publish (full fence)
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0) _wake.Release(sleeping);

            TakeChunks(generation, body, chunks);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) < chunks) spin.SpinOnce(sleep1Threshold: -1);
            _body = null;
            if (_failure is { } failure) throw new AggregateException("a CPU kernel chunk failed", failure);
        }
    }

    void TakeChunks(long generation, Action<int> body, int chunks)
    {
        while (true)
        {
            long s = Volatile.Read(ref _state);
            if (s >> 32 != generation) return;              // a newer job: not ours
            int chunk = (int)(s & 0xFFFFFFFF);
            if (chunk >= chunks) return;                     // all handed out
            if (Interlocked.CompareExchange(ref _state, s + 1, s) != s) continue;
            try { body(chunk); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            Interlocked.Increment(ref _done);
        }
    }

    void Work()
    {
        long seen = 0;
        long spinTicks = (long)(SpinTime.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (!_retired)
        {
            long idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
            long generation;
            int polls = 0;
            while ((generation = Volatile.Read(ref _state) >> 32) == seen)
            {
                if (_retired) return;
                if (++polls % 32 == 0)
                {
                    if (System.Diagnostics.Stopwatch.GetTimestamp() - idleSince > spinTicks)
                    {
                        Interlocked.Increment(ref _sleeping);
                        if (Volatile.Read(ref _state) >> 32 == seen && !_retired) _wake.Wait();
                        Interlocked.Decrement(ref _sleeping);
                        idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
                    }
                    else Thread.Yield();   // let any other runnable thread (torch's OpenMP pool, say) have this core
                }
                else Thread.SpinWait(16);
            }
            seen = generation;
            var body = Volatile.Read(ref _body);
            int chunks = Volatile.Read(ref _chunks);
            if (body is not null) TakeChunks(generation, body, chunks);
        }
    }

    void Retire()
    {
        _retired = true;
        _wake.Release(Size);
    }
}
