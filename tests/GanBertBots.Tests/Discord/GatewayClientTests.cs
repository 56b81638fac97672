using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Discord.Gateway;

namespace GanBertBots.Tests.Discord;

/// <summary>The gateway client against a scripted gateway on 127.0.0.1 (heartbeat intervals of ~100 ms keep it fast).</summary>
public sealed class GatewayClientTests
{
    sealed class Run : IAsyncDisposable
    {
        public required FakeGateway Gateway { get; init; }
        public required DiscordGatewayClient Client { get; init; }
        public required Task Running { get; init; }
        public required CancellationTokenSource Stop { get; init; }
        public required List<GatewayDispatch> Dispatches { get; init; }

        public async ValueTask DisposeAsync()
        {
            Stop.Cancel();
            await Gateway.DisposeAsync();
            try { await Running.WaitAsync(Wait.Long); } catch (Exception) { }
        }
    }

    static DiscordOptions Options(FakeGateway gateway) => new()
    {
        BotToken = "test-token",
        ApplicationId = "42",
        GatewayUrl = gateway.WsUrl("gateway"),
        Intents = 513,
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        InvalidSessionMinDelay = TimeSpan.FromMilliseconds(10),
        InvalidSessionMaxDelay = TimeSpan.FromMilliseconds(20),
        IdentifyWindow = TimeSpan.FromMilliseconds(10),
        HelloTimeout = TimeSpan.FromSeconds(5),
    };

    static async Task<Run> StartAsync(double jitter = 0.5, Func<DiscordOptions, DiscordOptions>? tweak = null)
    {
        var gateway = await FakeGateway.StartAsync();
        var options = Options(gateway);
        if (tweak is not null) options = tweak(options);
        var dispatches = new List<GatewayDispatch>();
        var client = new DiscordGatewayClient(options, options.GatewayUrl, 0, 1,
            (d, _) => { lock (dispatches) dispatches.Add(d); return Task.CompletedTask; }, jitter: () => jitter);
        var stop = new CancellationTokenSource();
        return new Run { Gateway = gateway, Client = client, Running = Task.Run(() => client.RunAsync(stop.Token)), Stop = stop, Dispatches = dispatches };
    }

    /// <summary>Connects, identifies and becomes READY with session "s1" at sequence <paramref name="seq"/>.</summary>
    static async Task<FakeGatewayConnection> IdentifiedAsync(Run run, long seq = 1, int heartbeatMs = 1000)
    {
        var connection = await run.Gateway.NextConnectionAsync();
        await connection.HelloAsync(heartbeatMs);
        await connection.ExpectAsync(2);
        await connection.ReadyAsync(run.Gateway, "s1", seq);
        return connection;
    }

    [Fact]
    public async Task Identifies_with_token_intents_shard_then_heartbeats_with_the_last_sequence()
    {
        await using var run = await StartAsync();
        var connection = await run.Gateway.NextConnectionAsync();
        Assert.Equal("gateway", connection.Kind);
        Assert.Contains("v=10", connection.Query);
        Assert.Contains("encoding=json", connection.Query);

        await connection.HelloAsync(250);
        var identify = await connection.ExpectAsync(2);
        Assert.Equal("test-token", (string)identify["d"]!["token"]!);
        Assert.Equal(513, (int)identify["d"]!["intents"]!);
        Assert.Equal("[0,1]", identify["d"]!["shard"]!.ToJsonString());
        Assert.NotNull(identify["d"]!["properties"]!["os"]);

        await connection.ReadyAsync(run.Gateway, "s1", 7);
        // Heartbeats keep coming, each acknowledged; once READY is in, each carries the last sequence (7).
        int withSequence = 0;
        while (withSequence < 2)
        {
            var heartbeat = await connection.ExpectAsync(1);
            await connection.SendAsync(11);
            Assert.True(heartbeat["d"] is null || (long)heartbeat["d"]! == 7, heartbeat.ToJsonString());
            if (heartbeat["d"] is not null) withSequence++;
        }

        await Wait.Until(() => { lock (run.Dispatches) return run.Dispatches.Any(d => d.Type == "READY"); }, "READY to reach the handler");
        Assert.Equal(new GatewaySessionState("s1", run.Gateway.WsUrl("resume"), 7), run.Client.Session);

        // A clean stop closes with 1000 (ends the session on purpose).
        run.Stop.Cancel();
        Assert.Equal(1000, await connection.ExpectCloseAsync());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Running.WaitAsync(Wait.Long));
    }

    [Fact]
    public async Task Server_heartbeat_request_is_answered_at_once()
    {
        // Interval 60 s with jitter 0.9: no scheduled heartbeat during this test, so any op 1 is the answer.
        await using var run = await StartAsync(jitter: 0.9);
        var connection = await IdentifiedAsync(run, seq: 3, heartbeatMs: 60_000);
        await connection.SendAsync(1);
        var answer = await connection.ReceiveAsync();
        Assert.Equal(1, (int)answer!["op"]!);
        Assert.Equal(3, (long)answer["d"]!);
    }

    [Fact]
    public async Task Missing_heartbeat_ack_closes_with_non_1000_and_resumes_with_the_last_sequence()
    {
        await using var run = await StartAsync();
        var connection = await IdentifiedAsync(run, seq: 1, heartbeatMs: 100);
        await connection.SendAsync(0, new JsonObject { ["id"] = "a" }, 2, "MESSAGE_CREATE");
        await connection.SendAsync(0, new JsonObject { ["id"] = "b" }, 5, "MESSAGE_CREATE");
        // Never acknowledge: the client must call this connection a zombie.
        int? code = await connection.ExpectCloseAsync();
        Assert.NotNull(code);
        Assert.NotEqual(1000, code);
        Assert.NotEqual(1001, code);
        Assert.NotEmpty(connection.Heartbeats);

        var resumed = await run.Gateway.NextConnectionAsync();
        Assert.Equal("resume", resumed.Kind);
        Assert.Contains("v=10", resumed.Query);
        await resumed.HelloAsync(1000);
        var resume = await resumed.ExpectAsync(6);
        Assert.Equal("test-token", (string)resume["d"]!["token"]!);
        Assert.Equal("s1", (string)resume["d"]!["session_id"]!);
        Assert.Equal(5, (long)resume["d"]!["seq"]!);
    }

    [Fact]
    public async Task Reconnect_opcode_7_resumes_on_the_resume_url()
    {
        await using var run = await StartAsync();
        var connection = await IdentifiedAsync(run, seq: 3);
        await connection.SendAsync(7);
        Assert.Equal(4000, await connection.ExpectCloseAsync());

        var next = await run.Gateway.NextConnectionAsync();
        Assert.Equal("resume", next.Kind);
        await next.HelloAsync(1000);
        var resume = await next.ExpectAsync(6);
        Assert.Equal(3, (long)resume["d"]!["seq"]!);
    }

    [Fact]
    public async Task Invalid_session_true_resumes_and_false_identifies_anew()
    {
        await using var run = await StartAsync();
        var connection = await IdentifiedAsync(run, seq: 4);
        await connection.SendAsync(9, JsonValue.Create(true));
        await connection.ExpectCloseAsync();

        var second = await run.Gateway.NextConnectionAsync();
        Assert.Equal("resume", second.Kind);
        await second.HelloAsync(1000);
        Assert.Equal(4, (long)(await second.ExpectAsync(6))["d"]!["seq"]!);
        await second.SendAsync(9, JsonValue.Create(false));
        await second.ExpectCloseAsync();

        var third = await run.Gateway.NextConnectionAsync();
        Assert.Equal("gateway", third.Kind); // the cached gateway URL, not resume_gateway_url
        await third.HelloAsync(1000);
        var identify = await third.ExpectAsync(2);
        Assert.Equal("test-token", (string)identify["d"]!["token"]!);
        Assert.Null(run.Client.Session.SessionId);
    }

    [Theory]
    [InlineData(4000, 6)] // unknown error: resume
    [InlineData(4008, 6)] // rate limited: resume
    [InlineData(4001, 2)] // unknown opcode: identify anew
    [InlineData(4003, 2)]
    [InlineData(4005, 2)]
    [InlineData(4007, 2)] // invalid seq
    [InlineData(4009, 2)] // session timed out
    public async Task Server_close_codes_lead_to_resume_or_identify(int closeCode, int expectedOp)
    {
        await using var run = await StartAsync();
        var connection = await IdentifiedAsync(run, seq: 9);
        await connection.CloseAsync(closeCode, "test");

        var next = await run.Gateway.NextConnectionAsync();
        Assert.Equal(expectedOp == 6 ? "resume" : "gateway", next.Kind);
        await next.HelloAsync(1000);
        var first = await next.ExpectAsync(expectedOp);
        if (expectedOp == 6) Assert.Equal(9, (long)first["d"]!["seq"]!);
    }

    [Theory]
    [InlineData(4004)]
    [InlineData(4010)]
    [InlineData(4011)]
    [InlineData(4012)]
    [InlineData(4013)]
    [InlineData(4014)]
    public async Task Fatal_close_codes_stop_with_a_clear_error_and_no_reconnect(int closeCode)
    {
        await using var run = await StartAsync();
        var connection = await run.Gateway.NextConnectionAsync();
        await connection.HelloAsync(1000);
        await connection.ExpectAsync(2);
        await connection.CloseAsync(closeCode, "nope");

        var error = await Assert.ThrowsAsync<DiscordGatewayException>(() => run.Running.WaitAsync(Wait.Long));
        Assert.Equal(closeCode, error.CloseCode);
        Assert.Contains(closeCode.ToString(), error.Message);
        if (closeCode == 4004) Assert.Contains("Discord:BotToken", error.Message);
        Assert.Equal(1, run.Client.Connections);
        Assert.False(await run.Gateway.AnotherConnectionWithin(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Oversized_payload_is_refused_before_it_reaches_the_gateway()
    {
        await using var run = await StartAsync(jitter: 0.9);
        var connection = await IdentifiedAsync(run, heartbeatMs: 60_000);
        await Wait.Until(() => run.Client.Session.SessionId is not null, "READY to be processed");
        var big = new JsonObject { ["status"] = new string('x', 5000) };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => run.Client.SendAsync(GatewayOpcode.PresenceUpdate, big, CancellationToken.None));
        Assert.Contains("4,096", error.Message);
        // A small one goes through and is the next thing the gateway sees.
        await run.Client.SendAsync(GatewayOpcode.PresenceUpdate, new JsonObject { ["status"] = "online" }, CancellationToken.None);
        var received = await connection.ReceiveAsync();
        Assert.Equal(3, (int)received!["op"]!);
        Assert.Equal("online", (string)received["d"]!["status"]!);
    }

    [Fact]
    public async Task Connection_failures_back_off_exponentially_with_jitter_up_to_the_cap()
    {
        var options = new DiscordOptions { ReconnectInitialDelay = TimeSpan.FromSeconds(1), ReconnectMaxDelay = TimeSpan.FromSeconds(60) };
        double jitter = 1;
        var client = new DiscordGatewayClient(options, "ws://127.0.0.1:1/", 0, 1, (_, _) => Task.CompletedTask, jitter: () => jitter);
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60], Enumerable.Range(0, 8).Select(f => client.Backoff(f).TotalSeconds));
        jitter = 0; // the low end of the jitter range is half the delay
        Assert.Equal([0.5, 1, 2, 30], new[] { 0, 1, 2, 10 }.Select(f => client.Backoff(f).TotalSeconds));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Unreachable_gateway_is_retried_not_abandoned()
    {
        // Nothing listens on the URL: the client must keep trying (with backoff) until stopped, not throw.
        var options = new DiscordOptions { BotToken = "t", ReconnectInitialDelay = TimeSpan.FromMilliseconds(10), ReconnectMaxDelay = TimeSpan.FromMilliseconds(40), HelloTimeout = TimeSpan.FromSeconds(2) };
        var client = new DiscordGatewayClient(options, "ws://127.0.0.1:9/", 0, 1, (_, _) => Task.CompletedTask);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.RunAsync(stop.Token).WaitAsync(Wait.Long));
    }
}
