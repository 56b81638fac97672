using GanBertBots.Bots.Console;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Telegram;
using GanBertBots.Conversation;
using GanBertBots.Host.Retraining;
using GanBertBots.Tests.Retraining;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace GanBertBots.Tests.RoundReports;

/// <summary>
/// A retraining round's report posted to the moderators' chats through the real adapters: the Telegram.Bot client
/// against the fake Bot API, our Discord REST client against the fake REST API (both on 127.0.0.1), and the console.
/// </summary>
public sealed class RoundReportDeliveryTests
{
    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task A_rounds_report_reaches_telegram_and_discord_moderators_and_a_blocked_one_does_not_fail_the_round()
    {
        await using var rig = await ModeratorChatsRig.StartAsync();
        rig.Telegram.BlockBot(501);
        using var fixture = new RoundFixture();
        var log = new CapturingLogger<ModeratorAnnouncer>();
        // No Bots:ModeratorChats: each moderator's private chat.
        var options = new BotOptions { Moderators = ["telegram:500", "telegram:501", "discord:42"] };
        var notifier = new ModeratorRoundNotifier(rig.Announcer(options, log));
        var round = new AdversarialRound(fixture.Registry, fixture.Options, fixture.Steps, fixture.Steps, fixture.Steps, fixture.Steps,
            new LiveModelSync(fixture.Registry, fixture.Steps), notifier);

        var report = await round.RunAsync("telegram:500", CancellationToken.None);

        Assert.Equal(RoundOutcome.Promoted, report.Outcome);
        Assert.Equal(["fool_rate.png", "perplexity.png"], report.Plots.Select(Path.GetFileName));
        var plots = report.Plots.Select(File.ReadAllBytes).ToList();
        Assert.All(plots, png => Assert.Equal(PngSignature, png[..8]));

        // Telegram moderator 500: the summary, then the plots as photos with the bytes the round wrote.
        var sent = rig.Telegram.CallsIn(500).Where(c => c.Method is "sendMessage" or "sendPhoto").ToList();
        Assert.Equal(["sendMessage", "sendPhoto", "sendPhoto"], sent.Select(c => c.Method));
        string summary = sent[0].Text!;
        Assert.Equal(report.ToChatText(), summary);
        Assert.StartsWith($"Retraining round {report.RoundId}: Promoted.", summary);
        Assert.Contains("Requested by telegram:500", summary);
        Assert.Contains("Detector v0001 -> v0002: macro-F1 0.800 -> 0.820, accuracy 0.850 -> 0.870", summary);
        Assert.Contains("Generator v0001 -> v0002: perplexity 40.00 -> 41.00 (held-out), fool rate vs new detector 10.0% -> 25.0%", summary);
        Assert.Contains("Gate passed:", summary);
        var photos = rig.Telegram.PhotosIn(500);
        Assert.Equal(["fool_rate.png", "perplexity.png"], photos.Select(p => p.FileName));
        Assert.Equal(plots, photos.Select(p => p.Content));
        Assert.Equal(["fool_rate", "perplexity"], photos.Select(p => p.Caption));

        // Discord moderator 42: a DM channel opened through REST, then the same summary and the plots as attachments.
        var dm = Assert.Single(rig.Discord.Matching("POST", "/users/@me/channels"));
        Assert.Equal("42", (string?)dm.Json!["recipient_id"]);
        var messages = await rig.DiscordMessagesIn("900042");
        Assert.Equal(3, messages.Count);
        Assert.Equal(summary, (string?)messages[0].Json["content"]);
        Assert.Null(messages[0].File);
        Assert.Equal("[]", messages[0].Json["allowed_mentions"]!["parse"]!.ToJsonString()); // nobody pinged
        Assert.Equal(["fool_rate.png", "perplexity.png"], messages.Skip(1).Select(m => m.FileName));
        Assert.Equal(plots, messages.Skip(1).Select(m => m.File));
        Assert.Equal(["fool_rate.png", "perplexity.png"], messages.Skip(1).Select(m => (string?)m.Json["attachments"]![0]!["filename"]));

        // Moderator 501 blocked the bot: nothing reached that chat, it is logged, and the round still promoted.
        Assert.Empty(rig.Telegram.CallsIn(501));
        Assert.Contains(log.Lines, l => l.StartsWith("Warning") && l.Contains("telegram:501") && l.Contains("bot was blocked by the user"));
        Assert.Contains(log.Lines, l => l.Contains("posted to 2 of 3 moderator chat(s)"));
        Assert.Equal("v0002", fixture.Registry.Live(ModelNames.Generator)!.Version);
    }

    [Fact]
    public async Task A_long_report_is_split_at_each_platforms_limit_with_nothing_lost()
    {
        await using var rig = await ModeratorChatsRig.StartAsync();
        var options = new BotOptions { ModeratorChats = ["telegram:-100123", "discord:987654321"], Moderators = ["telegram:500"] };
        // ~13,000 characters: numbered lines, then 2,500 emoji with no space or line break (a hard split must not cut one in
        // half), then more lines.
        string lines(int from) => string.Concat(Enumerable.Range(from, 120).Select(i => $"line {i}: detector macro-F1 0.{i:000} held-out\n"));
        string text = "Retraining round long\n" + lines(0) + "a" + string.Concat(Enumerable.Repeat("😀", 2500)) + "\n" + lines(200) + "end.";
        var image = new ReplyImage([.. PngSignature, 1, 2, 3], "fool_rate.png");

        var deliveries = await rig.Announcer(options).AnnounceAsync(new Announcement(text, [image]), CancellationToken.None);

        Assert.All(deliveries, d => Assert.True(d.Delivered, d.Error));
        Assert.Equal(["telegram:-100123", "discord:987654321"], deliveries.Select(d => d.Target.QualifiedId)); // not the moderator's chat
        Assert.Empty(rig.Telegram.CallsIn(500));

        var telegramParts = rig.Telegram.CallsIn(-100123).Where(c => c.Method == "sendMessage").Select(c => c.Text!).ToList();
        Assert.InRange(telegramParts.Count, (text.Length + 4095) / 4096, text.Length / 2048 + 1); // parts stay at least half full
        Assert.All(telegramParts, p => Assert.InRange(p.Length, 1, 4096));
        Assert.Equal(text, string.Concat(telegramParts));
        Assert.Equal(image.Png, Assert.Single(rig.Telegram.PhotosIn(-100123)).Content);

        var discord = await rig.DiscordMessagesIn("987654321");
        var discordParts = discord.Where(m => m.File is null).Select(m => (string)m.Json["content"]!).ToList();
        Assert.InRange(discordParts.Count, (text.Length + 1999) / 2000, text.Length / 1000 + 1);
        Assert.All(discordParts, p => Assert.InRange(p.Length, 1, 2000));
        Assert.Equal(text, string.Concat(discordParts));
        Assert.Equal(image.Png, discord[^1].File); // the image after the text

        foreach (string part in telegramParts.Concat(discordParts))
        {
            Assert.False(char.IsLowSurrogate(part[0]), "a part starts with half an emoji");
            Assert.False(char.IsHighSurrogate(part[^1]), "a part ends with half an emoji");
        }
    }

    [Fact]
    public async Task A_chat_that_cannot_be_reached_is_logged_and_the_others_get_everything()
    {
        await using var rig = await ModeratorChatsRig.StartAsync();
        rig.Telegram.BlockBot(111);
        rig.ForbiddenDiscordChannels.Add("555");
        var log = new CapturingLogger<ModeratorAnnouncer>();
        var options = new BotOptions
        {
            ModeratorChats = ["telegram:111", "discord:555", "telegram:222", "discord:666", "matrix:!room", "discord:general", "TELEGRAM:222"],
        };
        var image = new ReplyImage([.. PngSignature, 9], "perplexity.png");

        var deliveries = await rig.Announcer(options, log).AnnounceAsync(new Announcement("Retraining round r: Rejected.", [image]), CancellationToken.None);

        var byTarget = deliveries.ToDictionary(d => d.Target.QualifiedId);
        Assert.Equal(6, deliveries.Count); // TELEGRAM:222 is telegram:222 again: posted once
        Assert.Contains("bot was blocked by the user", byTarget["telegram:111"].Error);
        Assert.Equal(0, byTarget["telegram:111"].MessagesSent);
        Assert.Contains("Missing Access", byTarget["discord:555"].Error);
        Assert.Contains("no matrix adapter", byTarget["matrix:!room"].Error);
        Assert.Contains("snowflake", byTarget["discord:general"].Error);
        foreach (string good in new[] { "telegram:222", "discord:666" })
        {
            Assert.True(byTarget[good].Delivered, byTarget[good].Error);
            Assert.Equal((2, 2), (byTarget[good].MessagesSent, byTarget[good].MessagesPlanned));
        }
        Assert.Equal(["sendMessage", "sendPhoto"], rig.Telegram.CallsIn(222).Select(c => c.Method));
        Assert.Equal("Retraining round r: Rejected.", rig.Telegram.CallsIn(222)[0].Text);
        var discord = await rig.DiscordMessagesIn("666");
        Assert.Equal(["Retraining round r: Rejected.", "perplexity"], discord.Select(m => (string?)m.Json["content"]));
        Assert.Equal(image.Png, discord[1].File);
        foreach (string bad in new[] { "telegram:111", "discord:555", "matrix:!room", "discord:general" })
            Assert.Contains(log.Lines, l => l.StartsWith("Warning: Could not post to moderator chat " + bad));
    }

    [Fact]
    public async Task The_console_prints_the_report_for_the_person_at_the_terminal()
    {
        var output = new StringWriter();
        string pictures = Directory.CreateTempSubdirectory("ganbertbots-console-pictures-").FullName;
        var console = new ConsoleChat(new NoConversation(), new StringReader(""), output, pictures);
        var announcer = new ModeratorAnnouncer([console], new BotOptions { Moderators = [ConsoleChat.LocalUser.QualifiedId] });
        byte[] png = [.. PngSignature, 7, 7, 7, 7];

        var deliveries = await announcer.AnnounceAsync(
            new Announcement("Retraining round c: Failed. no IDetectorTrainer is registered", [new ReplyImage(png, "fool_rate.png")]), CancellationToken.None);

        Assert.True(Assert.Single(deliveries).Delivered);
        string printed = output.ToString();
        Assert.Contains("Retraining round c: Failed. no IDetectorTrainer is registered", printed);
        // A terminal shows no pictures: the PNG is written to a file and its path printed.
        string saved = Assert.Single(Directory.GetFiles(pictures));
        Assert.EndsWith("fool_rate.png", saved);
        Assert.Contains(ConsoleChat.PictureSaved + saved + "]", printed);
        Assert.Equal(png, File.ReadAllBytes(saved));
        Directory.Delete(pictures, recursive: true);
        await Assert.ThrowsAsync<ArgumentException>(() => console.OpenChatAsync("elsewhere", CancellationToken.None));
    }

    [Fact]
    public async Task With_no_moderator_chat_nothing_is_sent_and_a_warning_says_what_to_set()
    {
        await using var rig = await ModeratorChatsRig.StartAsync();
        var log = new CapturingLogger<ModeratorAnnouncer>();
        var deliveries = await rig.Announcer(new BotOptions(), log).AnnounceAsync(new Announcement("report", []), CancellationToken.None);
        Assert.Empty(deliveries);
        Assert.Contains(log.Lines, l => l.StartsWith("Warning") && l.Contains("Bots:ModeratorChats"));
        Assert.Empty(rig.Telegram.Calls);
        Assert.Empty(rig.Discord.Requests);
    }

    [Fact]
    public async Task An_unreadable_plot_is_named_in_the_text_and_the_readable_ones_still_go()
    {
        await using var rig = await ModeratorChatsRig.StartAsync();
        using var dir = new Hub.ScratchDirectory();
        string good = Path.Combine(dir.Path, "perplexity.png");
        File.WriteAllBytes(good, [.. PngSignature, 4, 2]);
        var report = new RoundReport
        {
            RoundId = "r1", RequestedBy = "nightly", StartedAt = DateTimeOffset.UnixEpoch, FinishedAt = DateTimeOffset.UnixEpoch.AddMinutes(3),
            Outcome = RoundOutcome.Failed, Reason = "InvalidOperationException: boom",
            Plots = [Path.Combine(dir.Path, "missing.png"), good],
        };
        var notifier = new ModeratorRoundNotifier(rig.Announcer(new BotOptions { Moderators = ["telegram:500"] }));

        await notifier.RoundFinishedAsync(report, CancellationToken.None);

        var text = rig.Telegram.CallsIn(500).Single(c => c.Method == "sendMessage").Text!;
        Assert.StartsWith("Retraining round r1: Failed. InvalidOperationException: boom", text);
        Assert.Contains("Plots that could not be read: missing.png", text);
        Assert.Equal(File.ReadAllBytes(good), Assert.Single(rig.Telegram.PhotosIn(500)).Content);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_service_posts_round_reports_through_every_adapter_whatever_the_registration_order(bool reportsBeforeRetraining)
    {
        using var dir = new Hub.ScratchDirectory();
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Retraining:Store"] = "memory", ["Retraining:RegistryRoot"] = Path.Combine(dir.Path, "registry"),
            ["Retraining:ScratchRoot"] = Path.Combine(dir.Path, "scratch"),
            ["Discord:Enabled"] = "true", ["Discord:BotToken"] = "t", ["Discord:ApplicationId"] = "42", ["Discord:PublicKey"] = new string('a', 64),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new BotOptions { ModeratorChats = ["telegram:-1"] });
        services.AddSingleton<IConversation>(new NoConversation());
        services.AddTelegramBot(new TelegramOptions { BotToken = "1:test" });
        services.AddDiscordBot(config);
        services.AddConsoleChat();
        if (reportsBeforeRetraining) services.AddRoundReportsToModerators();
        services.AddRetraining(config);
        if (!reportsBeforeRetraining) services.AddRoundReportsToModerators();
        using var provider = services.BuildServiceProvider();

        Assert.IsType<ModeratorRoundNotifier>(provider.GetRequiredService<IRoundNotifier>());
        Assert.Equal(["telegram", "discord", "console"], provider.GetServices<IChatDirectory>().Select(d => d.Platform));
        Assert.Equal([new AnnouncementTarget("telegram", "-1", IsPerson: false)], provider.GetRequiredService<ModeratorAnnouncer>().Targets());
    }

    [Fact]
    public void Split_keeps_every_character_prefers_line_breaks_and_never_halves_an_emoji()
    {
        // A line break in the second half of the window wins over a later space.
        Assert.Equal(["aaaa\n", "bb cc"], ChatText.Split("aaaa\nbb cc", 8));
        // No line break there: the last space.
        Assert.Equal(["aaaa bb ", "cc"], ChatText.Split("aaaa bb cc", 8));
        // A break in the first half is not taken (parts stay at least half full): cut at the limit.
        Assert.Equal(["a\nbbbbbb", "bbb"], ChatText.Split("a\nbbbbbbbbb", 8));
        // Nothing to break at: cut at the limit, but not between the halves of an emoji.
        Assert.Equal(["aaaaaaa", "😀b"], ChatText.Split("aaaaaaa😀b", 8));
        Assert.Equal(["😀😀😀😀", "😀"], ChatText.Split("😀😀😀😀😀", 8));
        Assert.Equal(["short"], ChatText.Split("short", 8));
        Assert.Empty(ChatText.Split("", 8));

        var random = new Random(7);
        string[] pieces = ["word ", "\n", "😀", "x", "é", "  "];
        for (int trial = 0; trial < 200; trial++)
        {
            string text = string.Concat(Enumerable.Range(0, random.Next(0, 400)).Select(_ => pieces[random.Next(pieces.Length)]));
            int max = random.Next(2, 60);
            var parts = ChatText.Split(text, max);
            Assert.Equal(text, string.Concat(parts));
            Assert.All(parts, p => Assert.InRange(p.Length, 1, max));
            Assert.All(parts, p => Assert.False(char.IsHighSurrogate(p[^1]) || char.IsLowSurrogate(p[0])));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ChatText.Split("abc", 1));
    }

    [Fact]
    public void Moderator_chats_must_be_platform_qualified()
    {
        var e = Assert.Throws<ArgumentException>(() => new BotOptions { ModeratorChats = ["-100123"] }.Validate());
        Assert.Contains("Bots:ModeratorChats", e.Message);
        new BotOptions { ModeratorChats = ["telegram:-100123", "discord:987654321"] }.Validate();
    }

    /// <summary>Adapters that only post here never hand anything to the core.</summary>
    sealed class NoConversation : IConversation
    {
        public Task HandleMessageAsync(IncomingMessage message, IChatOutput output, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("no conversation in this test");
        public Task HandleButtonAsync(ButtonPress press, IChatOutput output, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("no conversation in this test");
    }
}
