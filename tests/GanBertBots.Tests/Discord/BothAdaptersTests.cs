using GanBertBots.Bots.Discord;
using GanBertBots.Conversation;
using GanBertBots.Tests.Bots;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Tests.Discord;

/// <summary>Telegram and Discord in one host, on one conversation core, store and inference service.</summary>
public sealed class BothAdaptersTests
{
    [Fact]
    public async Task Telegram_and_discord_answer_side_by_side_from_one_core()
    {
        await using var telegram = await TelegramHarness.StartAsync();
        await using var gateway = await FakeGateway.StartAsync();
        await using var rest = await FakeRest.StartAsync();
        rest.AnswerForOneShard(gateway);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Discord:Enabled"] = "true", ["Discord:Mode"] = "gateway", ["Discord:BotToken"] = "test-token",
            ["Discord:ApplicationId"] = "42", ["Discord:PublicKey"] = new string('a', 64),
            ["Discord:ApiBaseUrl"] = rest.BaseUrl + "/api/v10",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(telegram.Conversation.ButtonCheck);
        services.AddSingleton(telegram.Conversation.Moderators);
        services.AddSingleton<IConversation>(telegram.Conversation);   // the very core Telegram is using
        foreach (var command in telegram.Conversation.Get<IEnumerable<ICommand>>()) services.AddSingleton(command);
        services.AddDiscordBot(config);
        await using var provider = services.BuildServiceProvider();
        var discord = Assert.Single(provider.GetServices<IHostedService>());
        await discord.StartAsync(CancellationToken.None);

        var connection = await gateway.NextConnectionAsync();
        await connection.HelloAsync(45_000);
        await connection.ExpectAsync(2);
        await connection.ReadyAsync(gateway, "s1", 1);
        await connection.SendAsync(0, Payloads.Slash("stats", null), 2, "INTERACTION_CREATE");
        var telegramAnswer = await telegram.SayAsync(TelegramHarness.ModeratorId, TelegramHarness.ModeratorId, "/stats");
        await Wait.Until(() => rest.Matching("PATCH", "@original").Length == 1, "Discord's answer to /stats");

        // Both platforms got the core's /stats answer.
        Assert.Contains("Texts kept", telegramAnswer.Text);
        Assert.Contains("Texts kept", rest.Matching("PATCH", "@original")[0].Body);

        connection.Abort();
        using var stopping = new CancellationTokenSource(Wait.Long);
        await discord.StopAsync(stopping.Token);
    }
}
