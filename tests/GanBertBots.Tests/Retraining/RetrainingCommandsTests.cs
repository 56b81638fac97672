using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.DependencyInjection;

namespace GanBertBots.Tests.Retraining;

/// <summary>Moderator commands (/promote, /rollback, last evaluation) and following the registry's live pointers.</summary>
public sealed class RetrainingCommandsTests : IDisposable
{
    readonly RoundFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Promote_without_arguments_makes_a_refused_rounds_candidates_live_and_rollback_returns_both()
    {
        _f.Steps.CandidateF1 = 0.5; // the gate refuses
        using var host = _f.BuildHost(new Dictionary<string, string?> { ["Retraining:Store"] = "memory" });
        var round = host.Services.GetRequiredService<AdversarialRound>();
        var commands = host.Services.GetRequiredService<RetrainingCommands>();
        Assert.Equal(RoundOutcome.Rejected, (await round.RunAsync("schedule", CancellationToken.None)).Outcome);
        Assert.Contains("not promoted): fool rate 25.0%, perplexity 41.00.", commands.LastEvaluation());

        Assert.Equal("Live now: detector v0002, generator v0002.", await commands.PromoteAsync("moderator:a", null, CancellationToken.None));
        Assert.Equal([("detector", "v0002"), ("generator", "v0002")], _f.Steps.Swaps.ToArray());
        Assert.Equal("Nothing to promote: the newest versions are already live.", await commands.PromoteAsync("moderator:a", "", CancellationToken.None));

        Assert.Equal("Rolled back; live now: detector v0001, generator v0001.", await commands.RollbackAsync("moderator:a", null, CancellationToken.None));
        Assert.Equal("v0001", _f.Registry.Live("generator")!.Version);
        Assert.Equal(4, _f.Steps.Swaps.Count);

        Assert.Equal("Live now: generator v0002.", await commands.PromoteAsync("moderator:a", "generator v0002", CancellationToken.None));
        Assert.StartsWith("Both models have a version v0002", await commands.PromoteAsync("moderator:a", "v0002", CancellationToken.None));
        Assert.StartsWith("Not promoted: model 'generator' has no version 'v0042'", await commands.PromoteAsync("moderator:a", "generator v0042", CancellationToken.None));
        Assert.Contains("unknown model 'nonsense'", await commands.RollbackAsync("moderator:a", "nonsense", CancellationToken.None));
    }

    [Fact]
    public async Task The_conversation_cores_moderator_commands_reach_the_registry_with_who_asked()
    {
        using var host = _f.BuildHost(new Dictionary<string, string?> { ["Retraining:Store"] = "memory" });
        var operations = new Host.Retraining.RetrainingModelOperations(host.Services.GetRequiredService<RetrainingCommands>());
        var moderator = new Conversation.ChatUser("telegram", "42", "Alice");
        string source = Path.Combine(_f.Root, "g2");
        FakeCheckpoint.Write(source, 2);
        _f.Registry.Register("generator", source);

        Assert.Equal("Live now: generator v0002.", await operations.PromoteAsync(moderator, "v0002", CancellationToken.None));
        Assert.Equal("telegram:42", _f.Registry.History("generator")[^1].By);
        Assert.StartsWith("Rolled back; live now: generator v0001.", await operations.RollbackAsync(moderator, CancellationToken.None));
        Assert.Null(await operations.LastEvaluationAsync(CancellationToken.None)); // no round yet
    }

    [Fact]
    public async Task A_promotion_made_elsewhere_is_hot_swapped_once_and_a_failed_swap_is_retried()
    {
        var sync = new LiveModelSync(_f.Registry, _f.Steps);
        Assert.Empty(await sync.SyncAsync()); // what is live at start is what the service loaded

        string source = Path.Combine(_f.Root, "g2");
        FakeCheckpoint.Write(source, 2);
        _f.Registry.Promote("generator", _f.Registry.Register("generator", source).Version); // e.g. `models promote` in another process

        _f.Steps.FailSwap = new IOException("GPU busy");
        Assert.Empty(await sync.SyncAsync());
        Assert.Equal("v0001", sync.Loaded("generator"));
        Assert.Equal(["generator v0002"], await sync.SyncAsync());
        Assert.Empty(await sync.SyncAsync());
        Assert.Equal([("generator", "v0002")], _f.Steps.Swaps.ToArray());
    }

    [Fact]
    public async Task The_follower_picks_up_a_promotion_on_its_own()
    {
        using var host = _f.BuildHost(new Dictionary<string, string?>
        {
            ["Retraining:Store"] = "memory", ["Retraining:FollowInterval"] = "00:00:00.100",
        });
        await host.StartAsync();
        try
        {
            string source = Path.Combine(_f.Root, "d2");
            FakeCheckpoint.Write(source, 2);
            _f.Registry.Promote("detector", _f.Registry.Register("detector", source).Version);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (_f.Steps.Swaps.IsEmpty && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal([("detector", "v0002")], _f.Steps.Swaps.ToArray());
        }
        finally { await host.StopAsync(); }
    }
}
