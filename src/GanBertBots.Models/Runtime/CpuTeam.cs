namespace GanBertBots.Models.Runtime;

/// <summary>
/// A few threads that share the chunks of one job: the CPU decoding kernels split a matrix into
/// chunks and every member, the caller included, takes the next chunk from a shared counter until
/// none is left. A member the OS has not scheduled yet simply takes no chunk, so the caller never
/// waits on a thread that has not started; it only waits for chunks already in progress.
/// <para>
/// A decoding step issues about fifty jobs a few microseconds apart, so waking a sleeping thread
/// for each would cost more than the work. Members therefore spin between jobs (yielding the core to
/// any other runnable thread) for <see cref="SpinTime"/>, then sleep until the next job.
/// </para>
/// <para>
/// A team belongs to whoever made it (the CPU decoder makes its own; the bench shares one between the
/// decoder and its bandwidth readings) and ends with <see cref="Dispose"/>: its members exit. A team
/// dropped without Dispose ends when it is finalized (the members hold only its inner state, not the
/// team itself, so they do not keep it alive).
/// </para>
/// </summary>
public sealed class CpuTeam : IDisposable
{
    /// <summary>How long an idle member keeps looking for work before it sleeps.</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(2);

    readonly Crew _crew;

    /// <summary>Starts <paramref name="size"/> - 1 member threads (the caller of <see cref="For"/> is the other member).</summary>
    /// <param name="size">Members including the caller; clamped to 1 .. the processor count.</param>
    public CpuTeam(int size) => _crew = new Crew(Math.Clamp(size, 1, Environment.ProcessorCount));

    /// <summary>Members, the caller included.</summary>
    public int Size => _crew.Size;

    /// <summary>Runs <paramref name="body"/>(0 .. chunks-1), each chunk exactly once, spread over the team; returns when all are done.</summary>
    public void For(int chunks, Action<int> body)
    {
        ObjectDisposedException.ThrowIf(_crew.Retired, this);
        _crew.For(chunks, body);
    }

    /// <summary>Ends the member threads (one still inside a chunk finishes it first). Idempotent.</summary>
    public void Dispose()
    {
        _crew.Retire();
        GC.SuppressFinalize(this);
    }

    ~CpuTeam() => _crew.Retire();

    /// <summary>The team's state: what the member threads run on and reference.</summary>
    sealed class Crew
    {
        // The job being worked on: one object per job, published with a single reference write, so a
        // member that saw an older job can only ever take that job's chunks (all handed out by then), never
        // a newer job's, and can never count one of its chunks as done for the newer job.
        sealed class Job(Action<int> body, int chunks)
        {
            public readonly Action<int> Body = body;
            public readonly int Chunks = chunks;
            public int Next;          // next chunk to hand out
            public int Done;          // chunks finished
            public Exception? Failure;
        }

        readonly object _jobLock = new();
        Job? _job;
        int _sleeping;
        volatile bool _retired;
        readonly SemaphoreSlim _wake = new(0);

        public int Size { get; }
        public bool Retired => _retired;

        public Crew(int size)
        {
            Size = size;
            for (int i = 1; i < size; i++)
                new Thread(Work) { IsBackground = true, Name = $"cpu-team-{i}" }.Start();
        }

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
                var job = new Job(body, chunks);
                Interlocked.Exchange(ref _job, job);   // publish (full fence)
                int sleeping = Volatile.Read(ref _sleeping);
                if (sleeping > 0) _wake.Release(sleeping);

                // The caller takes chunks too, so a job completes even when no member is running (not yet
                // scheduled, or retired meanwhile).
                TakeChunks(job);
                var spin = new SpinWait();
                while (Volatile.Read(ref job.Done) < chunks) spin.SpinOnce(sleep1Threshold: -1);
                if (job.Failure is { } failure) throw new AggregateException("a CPU kernel chunk failed", failure);
            }
        }

        static void TakeChunks(Job job)
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref job.Next) - 1) < job.Chunks)
            {
                try { job.Body(chunk); }
                catch (Exception e) { Interlocked.CompareExchange(ref job.Failure, e, null); }
                Interlocked.Increment(ref job.Done);
            }
        }

        void Work()
        {
            Job? seen = null;
            long spinTicks = (long)(SpinTime.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            while (!_retired)
            {
                long idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
                Job? job;
                int polls = 0;
                while ((job = Volatile.Read(ref _job)) == seen)
                {
                    if (_retired) return;
                    if (++polls % 32 == 0)
                    {
                        if (System.Diagnostics.Stopwatch.GetTimestamp() - idleSince > spinTicks)
                        {
                            Interlocked.Increment(ref _sleeping);
                            if (Volatile.Read(ref _job) == seen && !_retired) _wake.Wait();
                            Interlocked.Decrement(ref _sleeping);
                            idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
                        }
                        else Thread.Yield();   // let any other runnable thread (torch's OpenMP pool, say) have this core
                    }
                    else Thread.SpinWait(16);
                }
                seen = job;
                if (job is not null) TakeChunks(job);
            }
        }

        public void Retire()
        {
            if (_retired) return;
            _retired = true;
            _wake.Release(Size);
        }
    }
}
