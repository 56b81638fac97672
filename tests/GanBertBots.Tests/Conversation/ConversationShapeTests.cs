using GanBertBots.Conversation;
using GanBertBots.Inference;
using GanBertBots.Storage;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Tests.Bots;

/// <summary>The core's parts: handler discovery, generated help, the one moderator policy, the one command parser, the rate limit, the vocabulary.</summary>
public sealed class ConversationShapeTests
{
    const string Secret = "shape-test-secret-0123456789";
    static readonly ChatUser Alice = new("test", "alice", "Alice");
    static readonly ChatPlace Private = new("test", "alice-dm", ChatKind.Private);
    static readonly ChatPlace Group = new("test", "group-1", ChatKind.Group);

    static ServiceProvider Core(Action<IServiceCollection>? extra = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IInferenceService>(new InferenceService(new InferenceOptions(), new FakeTweetModel(), new FakeDetectorModel()));
        services.AddSingleton(System.Reflection.DispatchProxy.Create<ILabelStore, UnusedLabelStore>());
        services.AddSingleton(new BotOptions { CallbackSecret = Secret, Moderators = ["test:mod"] });
        services.AddSingleton(new Labels());
        services.AddLogging();
        extra?.Invoke(services);
        services.AddConversation();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public void Every_button_kind_has_exactly_one_handler_and_every_command_one_name()
    {
        using var core = Core();
        var kinds = core.GetServices<IButton>().Select(b => b.Kind).ToList();
        Assert.Equal(Enum.GetValues<ButtonKind>().Order(), kinds.Order());
        var names = core.GetServices<ICommand>().Select(c => c.Name).ToList();
        Assert.Equal(names.Distinct().Count(), names.Count);
        Assert.Equal(["/detect", "/forget", "/game", "/help", "/mods", "/privacy", "/promote", "/retrain", "/review", "/rollback", "/start", "/stats", "/top", "/tweet"], names.Order());
        // The moderator-only buttons are exactly the review ones, and the check knows it.
        Assert.Equal([ButtonKind.ReviewLabel, ButtonKind.ReviewSkip], core.GetServices<IButton>().Where(b => b.ModeratorOnly).Select(b => b.Kind).Order());
    }

    /// <summary>A command the tests add: registering one more ICommand is all it takes.</summary>
    sealed class PingCommand() : Command("/ping", "/ping - are you there?")
    {
        public override Task HandleAsync(CommandContext context, CancellationToken ct) => context.ReplyAsync("pong " + context.Arguments, ct);
    }

    [Fact]
    public void A_new_command_appears_in_the_telegram_and_discord_menus_without_a_change_to_either_adapter()
    {
        using var core = Core(s => s.AddSingleton<ICommand, PingCommand>());
        var commands = core.GetServices<ICommand>().ToList();

        var telegram = new GanBertBots.Bots.Telegram.TelegramCommandMenu(commands, new ModeratorPolicy(["telegram:7", "discord:8"]));
        var everyone = telegram.For(forModerators: false).ToDictionary(c => c.Command, c => c.Description);
        Assert.Equal("Are you there?", everyone["ping"]);
        Assert.Equal(commands.Where(c => c.Menu != null && !c.ModeratorOnly).Select(c => c.Name.TrimStart('/')).Order(), everyone.Keys.Order());
        Assert.DoesNotContain("review", everyone.Keys);
        Assert.DoesNotContain("start", everyone.Keys); // no help line, no menu entry
        Assert.Contains("review", telegram.For(forModerators: true).Select(c => c.Command));
        Assert.Equal([7L], telegram.ModeratorChats());

        var discord = new GanBertBots.Bots.Discord.Interactions.DiscordCommandCatalog(commands, includeModelCommands: false);
        var ping = discord.Find("ping", null)!;
        Assert.Equal(("Are you there?", "ping", false), (ping.Description, ping.Core, ping.Ephemeral));
        Assert.Null(discord.Find("retrain", null));     // model operations only with Discord:RegisterModelCommands
        Assert.True(discord.Find("review", null)!.Ephemeral && discord.Find("review", null)!.ModeratorOnly);
        Assert.Equal(["text", "file"], discord.Find("detect", null)!.Options!.Select(o => o.Name));
        Assert.NotNull(new GanBertBots.Bots.Discord.Interactions.DiscordCommandCatalog(commands, includeModelCommands: true).Find("retrain", null));
        // Every summary fits both platforms (Discord: 1-100 characters).
        Assert.All(commands.Where(c => c.Menu != null), c => Assert.InRange(c.Menu!.Summary.Length, 1, CommandMenuEntry.MaxSummaryLength));
    }

    [Theory]
    [InlineData("/tweet [keyword] - I write a tweet", "I write a tweet")]
    [InlineData("/x - ", "")]
    [InlineData("no dash here", "No dash here")]
    public void A_summary_is_the_help_lines_words_after_the_dash(string help, string summary) => Assert.Equal(summary, Command.SummaryOf(help));

    [Fact]
    public async Task A_new_command_is_one_class_it_is_routed_and_listed_in_help_and_moderator_commands_are_listed_to_moderators_only()
    {
        using var core = Core(s => s.AddSingleton<ICommand, PingCommand>());
        var router = core.GetRequiredService<ConversationRouter>();
        var output = new RecordingChatOutput();
        await router.HandleMessageAsync(new IncomingMessage { User = Alice, Chat = Private, Text = "/ping@SomeBot  hello" }, output, default);
        Assert.Equal("pong hello", output.Last.Text);

        await router.HandleMessageAsync(new IncomingMessage { User = Alice, Chat = Private, Text = "/help" }, output, default);
        string help = output.Last.Text;
        foreach (var command in core.GetServices<ICommand>().Where(c => !c.ModeratorOnly && c.Help != null)) Assert.Contains(command.Help!, help);
        Assert.DoesNotContain("/review", help);
        Assert.DoesNotContain("/start", help); // no help line: not listed

        await router.HandleMessageAsync(new IncomingMessage { User = new("test", "mod", "Moe"), Chat = Private, Text = "/help" }, output, default);
        foreach (var command in core.GetServices<ICommand>().Where(c => c.Help != null)) Assert.Contains(command.Help!, output.Last.Text);
        Assert.Equal("other", router.CommandOf("/nope"));
        Assert.Equal("/ping", router.CommandOf("/PING@bot x"));
        Assert.Equal("text", router.CommandOf("hello"));
    }

    [Fact]
    public void Moderator_policy_people_anywhere_admins_and_roles_only_in_groups_roles_per_platform()
    {
        var policy = new ModeratorPolicy(["telegram:1", "discord:98"], ["discord:55"]);
        ChatPlace tgGroup = new("telegram", "-100", ChatKind.Group), tgPrivate = new("telegram", "2", ChatKind.Private);
        ChatPlace dcGuild = new("discord", "600", ChatKind.Group), dcDm = new("discord", "700", ChatKind.Private);
        ChatUser tg1 = new("telegram", "1", "a"), tg2 = new("telegram", "2", "b"), dc7 = new("discord", "7", "c"), dc98 = new("discord", "98", "d");

        Assert.True(policy.IsModerator(tg1, tgPrivate, false, []));              // configured: anywhere
        Assert.True(policy.IsModerator(dc98, dcDm, false, []));
        Assert.True(policy.IsModerator(tg2, tgGroup, isChatAdmin: true, []));   // admin of this group
        Assert.False(policy.IsModerator(tg2, tgPrivate, isChatAdmin: true, [])); // "admin" of a private chat counts for nothing
        Assert.True(policy.IsModerator(dc7, dcGuild, false, ["55"]));           // a moderator role in a guild
        Assert.False(policy.IsModerator(dc7, dcDm, false, ["55"]));             // roles exist only in guilds
        Assert.False(policy.IsModerator(dc7, dcGuild, false, ["56"]));
        Assert.False(policy.IsModerator(tg2, tgGroup, false, ["55"]));          // "discord:55" is not a Telegram role
        Assert.False(policy.IsModerator(new ChatUser("discord", "1", "e"), dcGuild, false, [])); // "telegram:1" is not discord:1
    }

    [Theory]
    [InlineData("/tweet", "/tweet", null, "")]
    [InlineData("  /Detect@OurBot   some text  ", "/detect", "OurBot", "some text")]
    [InlineData("/detect\nline one\nline two", "/detect", null, "line one\nline two")]
    [InlineData("/tweet@", "/tweet", null, "")]
    public void Command_line_parses_name_addressee_and_arguments(string text, string name, string? addressee, string arguments) =>
        Assert.Equal(new CommandLine(name, addressee, arguments), CommandLine.Parse(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("hello /tweet")]
    public void Command_line_is_null_for_text_that_is_no_command(string? text) => Assert.Null(CommandLine.Parse(text));

    [Fact]
    public void Rate_limit_gives_the_burst_then_refuses_with_the_wait_for_one_token_per_person()
    {
        using var limit = new ChatRateLimit(perMinute: 6, burst: 2);
        Assert.True(limit.TryTake("test:a", out _));
        Assert.True(limit.TryTake("test:a", out _));
        Assert.False(limit.TryTake("test:a", out var wait));
        Assert.InRange(wait.TotalSeconds, 9, 10.5); // 6 a minute: one token every 10 s
        Assert.True(limit.TryTake("test:b", out _)); // another person has their own bucket
    }

    [Fact]
    public void Labels_are_read_once_for_everyone_and_bad_values_are_named()
    {
        static IConfiguration Config(params (string, string)[] pairs) =>
            new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Item1, p.Item2))).Build();

        var defaults = LabelsConfiguration.Read(Config());
        Assert.Equal(["human", "chatGPT", "cohere", "davinci", "bloomz", "dolly", "gpt2"], defaults.Classes);
        // The configured list replaces the default one (the binder alone would append to it).
        var own = LabelsConfiguration.Read(Config(("Labels:Classes:0", "person"), ("Labels:Classes:1", "ours"), ("Labels:Human", "person"), ("Labels:Generator", "ours")));
        Assert.Equal(["person", "ours"], own.Classes);
        // The older key still counts; the round follows the vocabulary unless its own keys say otherwise.
        Assert.Equal(["human", "gpt2", "x"], LabelsConfiguration.Read(Config(("Bots:Classes:0", "human"), ("Bots:Classes:1", "gpt2"), ("Bots:Classes:2", "x"))).Classes);
        var round = RetrainingOptions.From(Config(("Labels:Classes:0", "person"), ("Labels:Classes:1", "ours"), ("Labels:Human", "person"), ("Labels:Generator", "ours")));
        Assert.Equal(("ours", "person"), (round.GeneratorClass, round.CorpusClass));

        Assert.Contains("Labels:Human 'person'", Assert.Throws<ArgumentException>(() => LabelsConfiguration.Read(Config(("Labels:Human", "person")))).Message);
        Assert.Contains("Labels:Classes entry 'two words'", Assert.Throws<ArgumentException>(() =>
            LabelsConfiguration.Read(Config(("Labels:Classes:0", "human"), ("Labels:Classes:1", "gpt2"), ("Labels:Classes:2", "two words")))).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() =>
            LabelsConfiguration.Read(Config(("Labels:Classes:0", "human"), ("Labels:Classes:1", "gpt2"), ("Labels:Classes:2", "GPT2")))).Message);
    }
}

/// <summary>A label store the shape tests never reach (no handler they run touches storage).</summary>
public class UnusedLabelStore : System.Reflection.DispatchProxy
{
    protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) =>
        throw new InvalidOperationException($"the shape tests do not use the store ({targetMethod?.Name})");
}
