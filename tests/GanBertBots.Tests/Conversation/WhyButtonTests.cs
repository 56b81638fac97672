using System.Collections.Concurrent;
using GanBertBots.Bots.Console;
using GanBertBots.Bots.Discord.Gateway;
using GanBertBots.Conversation;
using GanBertBots.Inference;
using GanBertBots.Tests.Discord;
using GanBertBots.Tests.RoundReports;
using SkiaSharp;

namespace GanBertBots.Tests.Bots;

/// <summary>An inference service whose <see cref="ExplainAsync"/> answers with fixed evidence (and records the texts it was asked about).</summary>
public sealed class ExplainingInference(IInferenceService inner, TextEvidence evidence) : IInferenceService
{
    public ConcurrentQueue<string> Explained { get; } = new();
    public Task<TweetResult> GenerateAsync(TweetRequest request, IProgress<string>? partialText = null, CancellationToken cancellationToken = default) =>
        inner.GenerateAsync(request, partialText, cancellationToken);
    public Task<Verdict> DetectAsync(string text, CancellationToken cancellationToken = default) => inner.DetectAsync(text, cancellationToken);
    public Task<TextEvidence> ExplainAsync(string text, CancellationToken cancellationToken = default)
    {
        Explained.Enqueue(text);
        return Task.FromResult(evidence);
    }
    public string? GeneratorVersion => inner.GeneratorVersion;
    public string? DetectorVersion => inner.DetectorVersion;
    public IReadOnlyList<string> DetectorClasses => inner.DetectorClasses;
}

/// <summary>/detect's "Why?" button on each platform, in front of the real conversation core and an inference service with fixed evidence.</summary>
public sealed class WhyButtonTests
{
    const string Text = "Flood warning for the river valley tonight. Residents near the old bridge should move to higher ground before midnight.";

    static void AssertPng(byte[]? png)
    {
        Assert.NotNull(png);
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.InRange(bitmap.Width, 800, 1100);
    }

    static InferenceService FakeModels() =>
        new(new InferenceOptions { Generation = { MaxWaitMs = 0 }, Detection = { MaxWaitMs = 0 } }, new FakeTweetModel(), new FakeDetectorModel());

    static BotOptions Options(string secret) => new() { CallbackSecret = secret, Burst = 100, MessagesPerMinute = 600 };

    static readonly ChatUser Alice = new("test", "alice", "Alice");
    static readonly ChatPlace AliceChat = new("test", "alice-dm", ChatKind.Private);

    async Task<(RecordingChatOutput Output, Reply Answer)> DetectThenWhyAsync(IInferenceService inference)
    {
        await using var temp = await TempLabelStore.OpenAsync();
        var bot = new TestConversation(inference, temp.Store, Options("why-button-test-secret-0123"));
        var output = new RecordingChatOutput(AliceChat.ChatId);
        await bot.HandleMessageAsync(new IncomingMessage { User = Alice, Chat = AliceChat, Text = "/detect " + Text, MessageId = "m1" }, output, default);
        var why = output.Last.Buttons.SelectMany(r => r).Single(b => b.Label.Contains("Why?"));
        await bot.HandleButtonAsync(new ButtonPress { User = Alice, Chat = AliceChat, Payload = why.Payload, MessageId = "101" }, output, default);
        return (output, output.Last);
    }

    [Fact]
    public async Task Pressing_why_sends_the_picture_of_the_stored_text_with_a_caption()
    {
        using var models = FakeModels();
        var inference = new ExplainingInference(models, HandMadeEvidence.FloodWarning());
        var (output, answer) = await DetectThenWhyAsync(inference);

        Assert.Equal(Text, Assert.Single(inference.Explained));   // the text the button's payload points at, from the store
        Assert.Equal(WhyButton.FileName, answer.Image!.FileName);
        AssertPng(answer.Image.Png);
        Assert.StartsWith("Why? Each word is coloured by how high GPT-2 ranked it", answer.Text);
        Assert.Equal("101", answer.ReplyToMessageId);              // answers the verdict it was pressed under
        Assert.Equal([null], output.Acks);                         // the press was answered, without a toast
    }

    [Fact]
    public async Task Without_evidence_pressing_why_answers_a_short_sentence()
    {
        using var models = FakeModels();                           // the real service: no scorer, so Unavailable
        var (_, answer) = await DetectThenWhyAsync(models);
        Assert.Null(answer.Image);
        Assert.StartsWith(WhyButton.CannotExplain, answer.Text);
        Assert.True(answer.Text.Length < 200, answer.Text);
    }

    [Fact]
    public async Task A_why_button_from_another_chat_or_too_old_is_refused()
    {
        using var models = FakeModels();
        var inference = new ExplainingInference(models, HandMadeEvidence.FloodWarning());
        await using var temp = await TempLabelStore.OpenAsync();
        var bot = new TestConversation(inference, temp.Store, Options("why-button-test-secret-0123"));
        var output = new RecordingChatOutput(AliceChat.ChatId);
        await bot.HandleMessageAsync(new IncomingMessage { User = Alice, Chat = AliceChat, Text = "/detect " + Text, MessageId = "m1" }, output, default);
        var why = output.Last.Buttons.SelectMany(r => r).Single(b => b.Label.Contains("Why?"));
        await bot.HandleButtonAsync(new ButtonPress { User = Alice, Chat = AliceChat with { ChatId = "elsewhere" }, Payload = why.Payload }, output, default);
        Assert.Equal(ButtonCheck.NotValid, output.Acks.Last());
        Assert.Empty(inference.Explained);
    }

    [Fact]
    public async Task On_telegram_the_picture_is_uploaded_with_send_photo()
    {
        await using var h = await TelegramHarness.StartAsync(wrapInference: i => new ExplainingInference(i, HandMadeEvidence.FloodWarning()));
        const long chat = 4242;
        var verdict = await h.SayAsync(chat, chat, "/detect " + Text);
        var why = verdict.Buttons.SelectMany(r => r).Single(b => b.Label.Contains("Why?"));
        await h.PressAsync(chat, verdict.MessageId, chat, why.Data);
        var sent = await h.Server.WaitForCallAsync(c => c.ChatId == chat && c.Method == "sendPhoto");
        var photo = Assert.Single(h.Server.PhotosIn(chat));
        Assert.Equal(WhyButton.FileName, photo.FileName);
        AssertPng(photo.Content);
        Assert.StartsWith("Why? Each word", photo.Caption);
        Assert.Equal(verdict.MessageId, sent.ReplyToMessageId);
    }

    [Fact]
    public async Task On_discord_the_picture_is_an_attachment_of_a_follow_up()
    {
        await using var temp = await TempLabelStore.OpenAsync();
        using var models = FakeModels();
        var core = new TestConversation(new ExplainingInference(models, HandMadeEvidence.FloodWarning()), temp.Store, Options(InteractionTests.Secret),
            moderators: InteractionTests.Moderators());
        await using var rig = await InteractionTests.RigAsync(_ => core);

        var detect = Payloads.Slash("detect", null, ("text", Text));
        await rig.Handler.OnGatewayDispatchAsync(new GatewayDispatch(0, "INTERACTION_CREATE", 5, detect), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", $"/{detect["token"]}/messages/@original").Length == 1, "the verdict");
        var buttons = rig.Rest.Matching("PATCH", $"/{detect["token"]}/messages/@original")[0].Json!["components"]![0]!["components"]!.AsArray();
        string why = (string)buttons.Single(b => ((string)b!["label"]!).Contains("Why?"))!["custom_id"]!;

        var press = Payloads.Button(why);
        await rig.Handler.OnGatewayDispatchAsync(new GatewayDispatch(0, "INTERACTION_CREATE", 6, press), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("POST", $"/webhooks/42/{press["token"]}").Length == 1, "the picture");
        var message = await ModeratorChatsRig.ReadDiscordMessageAsync(rig.Rest.Matching("POST", $"/webhooks/42/{press["token"]}")[0]);
        Assert.Equal(WhyButton.FileName, message.FileName);
        AssertPng(message.File);
        Assert.StartsWith("Why? Each word", (string)message.Json["content"]!);
        await rig.Handler.DrainAsync(Wait.Long);
    }

    [Fact]
    public async Task On_the_console_the_picture_is_saved_and_its_path_printed()
    {
        await using var temp = await TempLabelStore.OpenAsync();
        using var models = FakeModels();
        var bot = new TestConversation(new ExplainingInference(models, HandMadeEvidence.FloodWarning()), temp.Store, Options("console-why-secret-0123456789"));
        string pictures = Directory.CreateTempSubdirectory("ganbertbots-why-").FullName;
        try
        {
            var output = new StringWriter();
            await new ConsoleChat(bot, new StringReader("/detect " + Text + "\n3\n/quit\n"), output, pictures).RunAsync(CancellationToken.None);
            string printed = output.ToString();
            Assert.Contains("[1] ✅ Right   [2] ❌ Wrong   [3] 🔍 Why?", printed);
            string saved = Assert.Single(Directory.GetFiles(pictures));
            Assert.Contains(ConsoleChat.PictureSaved + saved + "]", printed);
            Assert.Contains("Why? Each word", printed);
            AssertPng(File.ReadAllBytes(saved));
        }
        finally { Directory.Delete(pictures, recursive: true); }
    }
}
