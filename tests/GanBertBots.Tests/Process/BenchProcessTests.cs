namespace GanBertBots.Tests.Process;

/// <summary><c>bench bots</c> as a user runs it, with every flag its help shows.</summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class BenchProcessTests
{
    [Fact]
    public async Task Bench_bots_with_telegram_limits_runs_and_loses_nothing()
    {
        await using var bench = ServiceProcess.Start(null, null, "bench", "bots", "--quick", "--telegram-limits", "--chats", "2");
        Assert.Equal(0, await bench.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Contains("Telegram's outbound limits.", bench.Output);
        Assert.Contains("Lost or unanswered commands: 0 (target 0).", bench.Output);
    }
}
