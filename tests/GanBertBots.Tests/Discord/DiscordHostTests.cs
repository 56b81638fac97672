using GanBertBots.Bots.Discord;
using GanBertBots.Conversation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Tests.Discord;

/// <summary>The adapter as the host composes it: configuration → services → a running shard answering an interaction.</summary>
public sealed class DiscordHostTests
{
    static IConfiguration Config(FakeRest rest, string mode, bool enabled = true) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Discord:Enabled"] = enabled ? "true" : "false",
            ["Discord:Mode"] = mode,
            ["Discord:BotToken"] = "test-token",
            ["Discord:ApplicationId"] = "42",
            ["Discord:PublicKey"] = new string('a', 64),
            ["Discord:ApiBaseUrl"] = rest.BaseUrl + "/api/v10",
            ["Bots:Moderators:0"] = "discord:98",
        }).Build();

    static ServiceProvider Services(IConfiguration config, RecordingConversation? conversation = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var codec = new ButtonPayloadCodec(InteractionTests.Secret);
        services.AddSingleton(codec);
        services.AddSingleton(new ButtonCheck(codec, InteractionTests.Moderators(), [ButtonKind.ReviewLabel, ButtonKind.ReviewSkip]));
        services.AddSingleton(InteractionTests.Moderators());
        services.AddSingleton<IConversation>(conversation ?? new RecordingConversation(codec));
        foreach (var command in CoreCommands.All()) services.AddSingleton(command); // the menu the core would give
        services.AddDiscordBot(config);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task A_named_guild_gets_the_commands_at_once_and_who_wrote_this_can_answer_the_whole_channel()
    {
        await using var rest = await FakeRest.StartAsync();
        var config = new ConfigurationBuilder().AddConfiguration(Config(rest, "http")).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Discord:CommandGuildId"] = "555", ["Discord:EphemeralVerdicts"] = "false",
        }).Build();
        await using var services = Services(config);
        var service = Assert.Single(services.GetServices<IHostedService>());
        await service.StartAsync(CancellationToken.None);
        await Wait.Until(() => rest.Matching("PUT", "/commands").Length == 1, "the command registration");
        Assert.Equal("/api/v10/applications/42/guilds/555/commands", rest.Matching("PUT", "/commands").Single().Path);

        var verdict = services.GetRequiredService<GanBertBots.Bots.Discord.Interactions.DiscordInteractionHandler>().Accept(Payloads.MessageMenu("our town is flooding"));
        Assert.Equal(5, (int)verdict.Response["type"]!);
        Assert.NotEqual(64, (int?)verdict.Response["data"]?["flags"] ?? 0);            // the channel sees it
        await service.StopAsync(CancellationToken.None);

        Assert.Contains("Discord:CommandGuildId 'abc'", Assert.Throws<InvalidOperationException>(() => Services(new ConfigurationBuilder()
            .AddConfiguration(Config(rest, "http")).AddInMemoryCollection(new Dictionary<string, string?> { ["Discord:CommandGuildId"] = "abc" }).Build())).Message);
    }

    [Fact]
    public async Task Mode_picks_the_hosted_service_and_disabled_adds_nothing()
    {
        await using var rest = await FakeRest.StartAsync();
        await using (var gateway = Services(Config(rest, "gateway")))
            Assert.IsType<DiscordGatewayService>(Assert.Single(gateway.GetServices<IHostedService>()));
        await using (var http = Services(Config(rest, "http")))
            Assert.IsType<DiscordHttpInteractionsService>(Assert.Single(http.GetServices<IHostedService>()));
        await using (var off = Services(Config(rest, "gateway", enabled: false)))
            Assert.Empty(off.GetServices<IHostedService>());
    }

    [Fact]
    public async Task Missing_settings_fail_at_start_with_the_setting_named()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Discord:Enabled"] = "true" }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddDiscordBot(config));
        Assert.Contains("Discord:ApplicationId", error.Message);
        Assert.Contains("Discord:BotToken", error.Message);
    }

    [Fact]
    public async Task A_rejected_token_stops_the_gateway_service_with_the_setting_named()
    {
        await using var rest = await FakeRest.StartAsync();
        rest.Respond = _ => new FakeResponse(401, """{"message":"401: Unauthorized","code":0}""");
        await using var services = Services(Config(rest, "gateway"));
        var service = (BackgroundService)Assert.Single(services.GetServices<IHostedService>());
        await service.StartAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => service.ExecuteTask!.WaitAsync(Wait.Long));
        Assert.Contains("Discord:BotToken", error.Message);
        Assert.Single(rest.Requests); // a 401 is not retried
    }

    [Fact]
    public async Task Gateway_service_asks_for_the_gateway_registers_commands_and_answers_an_interaction()
    {
        await using var gateway = await FakeGateway.StartAsync();
        await using var rest = await FakeRest.StartAsync();
        rest.AnswerForOneShard(gateway);
        var codec = new ButtonPayloadCodec(InteractionTests.Secret);
        var conversation = new RecordingConversation(codec);
        await using var services = Services(Config(rest, "gateway"), conversation);
        var service = Assert.Single(services.GetServices<IHostedService>());
        await service.StartAsync(CancellationToken.None);

        var connection = await gateway.NextConnectionAsync(); // the URL came from GET /gateway/bot
        await connection.HelloAsync(45_000);
        var identify = await connection.ExpectAsync(2);
        Assert.Equal("[0,1]", identify["d"]!["shard"]!.ToJsonString()); // Discord's recommendation: one shard
        await connection.ReadyAsync(gateway, "s1", 1);
        var interaction = Payloads.Slash("detect", null, ("text", "Forest fire near La Ronge"));
        await connection.SendAsync(0, interaction, 2, "INTERACTION_CREATE");
        await Wait.Until(() => rest.Matching("PATCH", "@original").Length == 1, "the answer to the interaction");

        var calls = rest.Requests.Select(r => (r.Method, r.Path)).ToArray();
        Assert.Equal(("GET", "/api/v10/gateway/bot"), calls[0]);
        Assert.Equal(("PUT", "/api/v10/applications/42/commands"), calls[1]);
        Assert.Equal(("POST", $"/api/v10/interactions/{interaction["id"]}/{interaction["token"]}/callback"), calls[2]);
        Assert.Equal("/detect Forest fire near La Ronge", Assert.Single(conversation.Messages).Text);

        connection.Abort();
        using var stopping = new CancellationTokenSource(Wait.Long);
        await service.StopAsync(stopping.Token);
    }
}
