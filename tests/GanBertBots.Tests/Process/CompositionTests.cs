using GanBertBots.Conversation;
using GanBertBots.Host.Composition;
using GanBertBots.Host.Observability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Tests.Process;

/// <summary>
/// The real composition root in every adapter combination, retraining on and off, built with ValidateOnBuild and
/// ValidateScopes, and every hosted service (adapters, retraining, model serving) resolved as the host resolves them at
/// start. A dependency cycle through factory registrations is invisible to ValidateOnBuild and makes resolution never
/// finish (the service hung at start that way): resolution here must end within a bound.
/// </summary>
public sealed class CompositionTests
{
    public static TheoryData<bool, bool, bool, bool> Combinations()
    {
        var data = new TheoryData<bool, bool, bool, bool>();
        foreach (bool telegram in new[] { false, true })
        foreach (bool discord in new[] { false, true })
        foreach (bool retraining in new[] { false, true })
            data.Add(telegram, discord, !telegram && !discord, retraining);
        data.Add(true, true, true, true); // run --console beside both bots
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Every_adapter_combination_builds_validated_and_resolves_without_a_cycle(bool telegram, bool discord, bool console, bool retraining)
    {
        string root = Directory.CreateTempSubdirectory("ganbertbots-composition-").FullName;
        try
        {
            var settings = new Dictionary<string, string?>
            {
                ["Storage:DataDirectory"] = Path.Combine(root, "data"),
                ["Retraining:Enabled"] = retraining ? "true" : "false",
                ["Retraining:Store"] = "memory",
                ["Retraining:RegistryRoot"] = Path.Combine(root, "registry"),
                ["Retraining:ScratchRoot"] = Path.Combine(root, "scratch"),
                ["Host:Urls"] = "http://127.0.0.1:0",
            };
            if (telegram)
            {
                settings["Telegram:BotToken"] = "123456:TEST-token";
                settings["Telegram:ApiBaseUrl"] = "http://127.0.0.1:9";
            }
            if (discord)
            {
                settings["Discord:Enabled"] = "true";
                settings["Discord:BotToken"] = "discord-token";
                settings["Discord:ApplicationId"] = "123456789012345678";
                settings["Discord:ApiBaseUrl"] = "http://127.0.0.1:9";
            }
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var shape = ServiceShape.From(configuration, forceConsole: console);
            Assert.Equal((telegram, discord, console, retraining), (shape.Telegram, shape.Discord, shape.Console, shape.Retraining));

            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(configuration);
            builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
            builder.Services.AddGanBertBots(configuration, shape);
            builder.Services.AddServiceObservability(shape);
            using var host = builder.Build();

            var resolved = await Task.Run(() => (host.Services.GetServices<IHostedService>().ToList(), host.Services.GetRequiredService<IConversation>()))
                .WaitAsync(TimeSpan.FromSeconds(30));
            Assert.IsType<MeasuredConversation>(resolved.Item2);
            var hosted = resolved.Item1.Select(s => s.GetType().Name).ToList();
            Assert.Equal(telegram, hosted.Contains("TelegramBotService"));
            Assert.Equal(discord, hosted.Contains("DiscordGatewayService"));
            Assert.Equal(console, hosted.Contains("ConsoleChatService"));
            // The store and the models come before anything that answers people.
            int store = hosted.IndexOf("LabelStoreStartup"), models = hosted.IndexOf("ModelServing");
            Assert.True(store >= 0 && store < models, string.Join(", ", hosted));
            foreach (string adapter in new[] { "TelegramBotService", "DiscordGatewayService", "ConsoleChatService" })
            {
                int at = hosted.IndexOf(adapter);
                Assert.True(at < 0 || at > models, string.Join(", ", hosted));
            }
            if (retraining)
            {
                // The announcer finds the adapters' chat directories when it posts, not when it is made.
                var announcer = host.Services.GetRequiredService<ModeratorAnnouncer>();
                Assert.NotNull(announcer);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
