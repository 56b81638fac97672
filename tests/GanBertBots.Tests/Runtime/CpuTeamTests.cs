using System.Runtime.CompilerServices;
using GanBertBots.Models.Runtime;

namespace GanBertBots.Tests.Runtime;

public class CpuTeamTests
{
    [Fact]
    public void Every_chunk_runs_exactly_once_even_with_callers_on_several_threads()
    {
        using var team = new CpuTeam(2);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, caller =>
        {
            for (int job = 0; job < 5000; job++)
            {
                int chunks = 1 + (job * 7 + caller) % 23;
                var counts = new int[chunks];
                team.For(chunks, c => Interlocked.Increment(ref counts[c]));
                if (counts.Any(n => n != 1)) failures.Add($"caller {caller} job {job}: {string.Join(",", counts)}");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void Work_is_shared_when_chunks_take_time()
    {
        using var team = new CpuTeam(2);
        Assert.Equal(2, MemberThreads(team).Count + 1);
    }

    /// <summary>The threads other than the caller that take chunks of slow jobs (tries until every member has shown up).</summary>
    static List<Thread> MemberThreads(CpuTeam team)
    {
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<int, Thread>();
        int caller = Environment.CurrentManagedThreadId;
        for (int attempt = 0; attempt < 50 && seen.Count < team.Size - 1; attempt++)
            team.For(8, _ =>
            {
                if (Environment.CurrentManagedThreadId != caller) seen[Environment.CurrentManagedThreadId] = Thread.CurrentThread;
                Thread.Sleep(2);
            });
        return seen.Values.ToList();
    }

    [Fact]
    public void A_failing_chunk_surfaces_to_the_caller_and_the_team_carries_on()
    {
        using var team = new CpuTeam(2);
        var e = Assert.Throws<AggregateException>(() => team.For(6, c => { if (c == 4) throw new InvalidOperationException("chunk 4"); }));
        Assert.Equal("chunk 4", e.InnerException!.Message);
        int done = 0;
        team.For(6, _ => Interlocked.Increment(ref done));
        Assert.Equal(6, done);
        team.For(0, _ => throw new InvalidOperationException("no chunks, no calls"));
    }

    [Fact]
    public void Dispose_ends_the_member_threads_and_later_jobs_are_refused()
    {
        var team = new CpuTeam(2);
        var members = MemberThreads(team);
        Assert.Single(members);
        team.Dispose();
        Assert.True(members[0].Join(TimeSpan.FromSeconds(10)), "the member thread should exit once the team is disposed");
        Assert.Throws<ObjectDisposedException>(() => team.For(4, _ => { }));
        team.Dispose();   // idempotent
    }

    [Fact]
    public void A_team_dropped_without_Dispose_ends_its_threads_when_finalized()
    {
        var members = MembersOfADroppedTeam();
        Assert.Single(members);
        for (int i = 0; i < 20 && members[0].IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            members[0].Join(TimeSpan.FromMilliseconds(100));
        }
        Assert.False(members[0].IsAlive, "the member thread should exit once its team is collected");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static List<Thread> MembersOfADroppedTeam() => MemberThreads(new CpuTeam(2));
}
