using GanBertBots.Conversation;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types.ReplyMarkups;

namespace GanBertBots.Bots.Telegram;

/// <summary>The conversation core's output for one Telegram chat (and, for a button press, its callback query).</summary>
public sealed class TelegramChatOutput(ITelegramBotClient bot, TelegramOutbox outbox, TelegramOptions options, long chatId, bool isGroup,
    string? callbackQueryId = null) : IChatOutput
{
    /// <summary>Telegram's longest message text.</summary>
    public const int TelegramMaxLength = 4096;
    int _acknowledged;

    public TimeSpan EditInterval => TimeSpan.FromMilliseconds(isGroup ? options.GroupEditIntervalMs : options.PrivateEditIntervalMs);
    public int MaxMessageLength => TelegramMaxLength;

    /// <summary>True once the button press was answered (the router answers it otherwise, so the client stops its spinner).</summary>
    public bool Acknowledged => Volatile.Read(ref _acknowledged) == 1;

    public async Task<SentReply> SendAsync(Reply reply, CancellationToken ct)
    {
        Message sent;
        if (reply.Image is { } image)
        {
            sent = await outbox.SendAsync(chatId, isGroup, paced: true, c => bot.SendPhoto(chatId,
                InputFile.FromStream(new MemoryStream(image.Png), image.FileName), caption: ChatText.Clip(reply.Text, 1024),
                replyParameters: ReplyTo(reply), replyMarkup: Keyboard(reply), cancellationToken: c), ct);
        }
        else
        {
            sent = await outbox.SendAsync(chatId, isGroup, paced: true, c => bot.SendMessage(chatId, ChatText.Clip(reply.Text, TelegramMaxLength),
                replyParameters: ReplyTo(reply), replyMarkup: Keyboard(reply), cancellationToken: c), ct);
        }
        return new SentReply(chatId.ToString(), sent.Id.ToString());
    }

    public async Task EditAsync(SentReply message, Reply reply, CancellationToken ct)
    {
        if (!int.TryParse(message.MessageId, out int id)) throw new ArgumentException($"'{message.MessageId}' is not a Telegram message id");
        try
        {
            await outbox.SendAsync(chatId, isGroup, paced: true, c => bot.EditMessageText(chatId, id, ChatText.Clip(reply.Text, TelegramMaxLength),
                replyMarkup: Keyboard(reply) as InlineKeyboardMarkup, cancellationToken: c), ct, safeToRepeat: true);
        }
        catch (ApiRequestException e) when (e.ErrorCode == 400 && e.Message.Contains("not modified", StringComparison.OrdinalIgnoreCase))
        {
            // The same text again: nothing to do.
        }
    }

    public Task ShowTypingAsync(CancellationToken ct) =>
        outbox.SendAsync(chatId, isGroup, paced: false, async c => { await bot.SendChatAction(chatId, ChatAction.Typing, cancellationToken: c); return true; }, ct,
            safeToRepeat: true);

    public async Task AcknowledgeButtonAsync(string? notice, CancellationToken ct)
    {
        if (callbackQueryId is null || Interlocked.Exchange(ref _acknowledged, 1) == 1) return;
        await outbox.SendAsync(chatId, isGroup, paced: false,
            async c => { await bot.AnswerCallbackQuery(callbackQueryId, notice is null ? null : ChatText.Clip(notice, 200), cancellationToken: c); return true; }, ct,
            safeToRepeat: true);
    }

    static ReplyParameters? ReplyTo(Reply reply) =>
        int.TryParse(reply.ReplyToMessageId, out int id) ? new ReplyParameters { MessageId = id, AllowSendingWithoutReply = true } : null;

    static InlineKeyboardMarkup? Keyboard(Reply reply) =>
        reply.Buttons.Count == 0 ? null
            : new InlineKeyboardMarkup(reply.Buttons.Select(row => row.Select(b => InlineKeyboardButton.WithCallbackData(b.Label, b.Payload))));
}
