using GanBertBots.Bots.Telegram;
using GanBertBots.Conversation;
using GanBertBots.Inference;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Tests.Bots;

/// <summary>
/// The real Telegram adapter (Telegram.Bot client, long polling) wired to the real conversation core, inference
/// service and SQLite store, talking to a <see cref="FakeBotApiServer"/> on 127.0.0.1.
/// </summary>
public sealed class TelegramHarness : IAsyncDisposable
{
    public const long ModeratorId = 500;
    public FakeBotApiServer Server { get; private set; } = null!;
    public TempLabelStore Temp { get; private set; } = null!;
    public InferenceService Inference { get; private set; } = null!;
    public TestConversation Conversation { get; private set; } = null!;
    public TelegramBotService Bot { get; private set; } = null!;
    public TelegramUpdateRouter Router { get; private set; } = null!;
    public ListLogger Log { get; } = new();
    public FakeTweetModel Generator { get; } = new();
    public FakeDetectorModel Detector { get; } = new();

    /// <param name="wrapInference">Puts a test double in front of the inference service the conversation core sees.</param>
    public static async Task<TelegramHarness> StartAsync(Action<TelegramOptions>? configure = null, ITweetModel? generator = null,
        Action<BotOptions>? configureBot = null, bool start = true, Func<IInferenceService, IInferenceService>? wrapInference = null)
    {
        var h = new TelegramHarness();
        h.Server = await FakeBotApiServer.StartAsync();
        h.Temp = await TempLabelStore.OpenAsync();
        h.Inference = new InferenceService(new InferenceOptions { Generation = { MaxWaitMs = 2 }, Detection = { MaxWaitMs = 2 } },
            generator ?? h.Generator, h.Detector);
        var botOptions = new BotOptions { Moderators = [$"telegram:{ModeratorId}"], CallbackSecret = "telegram-e2e-secret-0123456789", Burst = 50, MessagesPerMinute = 600 };
        configureBot?.Invoke(botOptions);
        h.Conversation = new TestConversation(wrapInference?.Invoke(h.Inference) ?? h.Inference, h.Temp.Store, botOptions, logger: h.Log);
        var options = new TelegramOptions
        {
            BotToken = h.Server.Token, ApiBaseUrl = h.Server.BaseUrl, PollingTimeoutSeconds = 1,
            MessagesPerSecondPerChat = 100, MessagesPerMinutePerGroup = 6000, MessagesPerSecondOverall = 1000,
            PrivateEditIntervalMs = 30, GroupEditIntervalMs = 30,
        };
        configure?.Invoke(options);
        h.Bot = new TelegramBotService(options, h.Conversation, NullLogger<TelegramBotService>.Instance, inline: h.Conversation.Get<InlineVerdicts>());
        if (start)
        {
            await h.Bot.StartAsync(CancellationToken.None);
            h.Router = await h.Bot.Ready.WaitAsync(TimeSpan.FromSeconds(20));
        }
        return h;
    }

    /// <summary>Posts a message and waits for the bot's next sendMessage/editMessageText in that chat carrying text.</summary>
    public async Task<BotCall> SayAsync(long chatId, long userId, string? text, Telegram.Bot.Types.Enums.ChatType type = Telegram.Bot.Types.Enums.ChatType.Private,
        Func<BotCall, bool>? until = null, int? replyTo = null)
    {
        until ??= c => c.Method == "sendMessage";
        int before = Server.CallsIn(chatId).Count(until);
        Server.PostMessage(chatId, userId, text, type, replyTo);
        return await Server.WaitForCallAsync(c => c.ChatId == chatId && until(c), skip: before);
    }

    public async Task<BotCall> PressAsync(long chatId, int messageId, long userId, string data)
    {
        string id = Server.PressButton(chatId, messageId, userId, data);
        return await Server.WaitForCallAsync(c => c.Method == "answerCallbackQuery" && c.CallbackQueryId == id);
    }

    public async ValueTask DisposeAsync()
    {
        try { await Bot.StopAsync(CancellationToken.None); } catch { }
        Bot.Dispose();
        Inference.Dispose();
        await Server.DisposeAsync();
        await Temp.DisposeAsync();
    }
}
