using GanBertBots.Models.Runtime;

namespace GanBertBots.Tests.Runtime;

public class CpuTeamTests
{
    [Fact]
    public void Every_chunk_runs_exactly_once_even_with_callers_on_several_threads()
    {
        var team = CpuTeam.Shared(2);
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
        var team = CpuTeam.Shared(2);
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        for (int attempt = 0; attempt < 20 && threads.Count < 2; attempt++)
            team.For(8, _ => { threads[Environment.CurrentManagedThreadId] = true; Thread.Sleep(2); });
        Assert.Equal(2, threads.Count);
    }

    [Fact]
    public void A_failing_chunk_surfaces_to_the_caller_and_the_team_carries_on()
    {
        var team = CpuTeam.Shared(2);
        var e = Assert.Throws<AggregateException>(() => team.For(6, c => { if (c == 4) throw new InvalidOperationException("chunk 4"); }));
        Assert.Equal("chunk 4", e.InnerException!.Message);
        int done = 0;
        team.For(6, _ => Interlocked.Increment(ref done));
        Assert.Equal(6, done);
        team.For(0, _ => throw new InvalidOperationException("no chunks, no calls"));
    }
}
