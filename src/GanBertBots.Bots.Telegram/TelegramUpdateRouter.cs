using System.Collections.Concurrent;
using GanBertBots.Conversation;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types.InlineQueryResults;

namespace GanBertBots.Bots.Telegram;

/// <summary>
/// Turns Telegram updates into the conversation core's neutral messages and button presses. Updates of one chat are
/// handled in order; different chats run concurrently (so their model requests can share batches).
/// </summary>
public sealed class TelegramUpdateRouter
{
    public const string Platform = "telegram";
    readonly ITelegramBotClient _bot;
    readonly IConversation _conversation;
    readonly TelegramOutbox _outbox;
    readonly TelegramOptions _options;
    readonly ILogger _log;
    readonly SemaphoreSlim _concurrency;
    readonly Dictionary<long, Task> _chatTails = [];
    readonly ConcurrentDictionary<(long Chat, long User), (bool Admin, DateTimeOffset Until)> _admins = new();
    long _received, _handled, _failed;

    readonly InlineVerdicts? _inline;

    public TelegramUpdateRouter(ITelegramBotClient bot, IConversation conversation, TelegramOutbox outbox, TelegramOptions options, string botUsername, ILogger log,
        InlineVerdicts? inline = null)
    {
        _inline = inline;
        _bot = bot;
        _conversation = conversation;
        _outbox = outbox;
        _options = options;
        _log = log;
        BotUsername = botUsername;
        _concurrency = new SemaphoreSlim(options.MaxConcurrentUpdates);
    }

    /// <summary>The bot's @username (without @), from getMe.</summary>
    public string BotUsername { get; }
    public long Received => Interlocked.Read(ref _received);
    public long Handled => Interlocked.Read(ref _handled);
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Queues an update behind earlier ones of its chat; returns at once. The returned task ends when it has been handled.</summary>
    public Task DispatchAsync(Update update, CancellationToken ct)
    {
        Interlocked.Increment(ref _received);
        if (Unusable(update) is { } reason)
        {
            // Malformed (a message without its chat, a button press without its sender): skipped, never thrown at the loop.
            Interlocked.Increment(ref _skipped);
            _log.LogWarning("Telegram update {Update} skipped: {Reason}", update?.Id, reason);
            return Task.CompletedTask;
        }
        // One queue per chat; a press on an inline message and an inline query queue per person; other kinds share key 0.
        long chatKey = update.Message?.Chat.Id ?? update.CallbackQuery?.Message?.Chat?.Id ?? update.CallbackQuery?.From.Id ?? update.InlineQuery?.From.Id ?? 0;
        Task tail;
        lock (_chatTails)
        {
            var previous = _chatTails.GetValueOrDefault(chatKey) ?? Task.CompletedTask;
            tail = HandleAfterAsync(previous, update, ct); // returns at its first await (a Task.Yield)
            _chatTails[chatKey] = tail;
        }
        // Forget finished chats so the map does not grow without bound.
        _ = tail.ContinueWith(t =>
        {
            lock (_chatTails)
                if (_chatTails.TryGetValue(chatKey, out var current) && current == t) _chatTails.Remove(chatKey);
        }, TaskScheduler.Default);
        return tail;
    }

    async Task HandleAfterAsync(Task previous, Update update, CancellationToken ct)
    {
        await Task.Yield();
        try { await previous; } catch { /* logged by its own handler */ }
        await _concurrency.WaitAsync(ct);
        try
        {
            await HandleAsync(update, ct);
            Interlocked.Increment(ref _handled);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The service stopped before this update was answered: say so rather than leave the person waiting.
            await TellRestartingAsync(update);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            _log.LogError(e, "Telegram update {Update} could not be handled", update.Id);
        }
        finally { _concurrency.Release(); }
    }

    public const string Restarting = "The bot is restarting and could not finish that. Please send it again in a minute.";

    async Task TellRestartingAsync(Update update)
    {
        long? chat = update.Message?.Chat.Id ?? update.CallbackQuery?.Message?.Chat.Id;
        if (chat is null) return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await _bot.SendMessage(chat.Value, Restarting, cancellationToken: timeout.Token); }
        catch (Exception e) { _log.LogWarning("Could not tell chat {Chat} that the bot is restarting: {Error}", chat, e.Message); }
    }

    /// <summary>Waits until every update dispatched so far has been handled, or <paramref name="limit"/> has passed.</summary>
    public async Task<bool> DrainAsync(TimeSpan limit)
    {
        Task[] inFlight;
        lock (_chatTails) inFlight = [.. _chatTails.Values];
        try
        {
            await Task.WhenAll(inFlight).WaitAsync(limit);
            return true;
        }
        catch (TimeoutException) { return false; }
        catch (Exception) { return true; } // failures were logged by their handlers
    }

    /// <summary>Why an update cannot be handled (the fields the router relies on are missing), or null when it can.</summary>
    static string? Unusable(Update? update)
    {
        // The Bot API types say these are never null; a malformed update says otherwise.
        if (update is null) return "no update";
        if (update.Message is { } m)
        {
            if ((Chat?)m.Chat is null) return "a message without its chat";
            if ((User?)m.From is null && m.SenderChat is null) return "a message without a sender";
            return null;
        }
        if (update.CallbackQuery is { } q)
        {
            if ((User?)q.From is null) return "a button press without its sender";
            if (q.Message is { } carrier && (Chat?)carrier.Chat is null) return "a button press on a message without its chat";
            return null;
        }
        if (update.InlineQuery is { } iq) return (User?)iq.From is null ? "an inline query without its sender" : null;
        return null; // other kinds are ignored by HandleAsync
    }

    long _skipped;
    /// <summary>Updates skipped because they were malformed.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Handles one update now (tests and the webhook call this through <see cref="DispatchAsync"/>).</summary>
    public async Task HandleAsync(Update update, CancellationToken ct)
    {
        if (update.Message is { } message) await HandleMessageAsync(message, ct);
        else if (update.CallbackQuery is { } query) await HandleCallbackAsync(query, ct);
        else if (update.InlineQuery is { } inline && _inline is not null) await HandleInlineAsync(inline, ct);
        // Other update kinds (edits, reactions, membership) are not for this bot.
    }

    async Task HandleMessageAsync(Message message, CancellationToken ct)
    {
        if (message.From is null || message.From.IsBot) return;
        if (message.Chat.Type == ChatType.Channel) return;
        bool isGroup = message.Chat.Type is ChatType.Group or ChatType.Supergroup;
        // A document's caption is its text ("/detect" in a group); the file itself is fetched only if the core wants it.
        string? text = message.Text ?? (message.Document is null ? null : message.Caption);
        // "/cmd@SomeBot args": for us only when SomeBot is this bot.
        if (CommandLine.Parse(text) is { Addressee: { } addressee } && !string.Equals(addressee, BotUsername, StringComparison.OrdinalIgnoreCase)) return;

        var chat = new ChatPlace(Platform, message.Chat.Id.ToString(), isGroup ? ChatKind.Group : ChatKind.Private);
        bool admin = isGroup && text != null && text.StartsWith('/') && await IsChatAdminAsync(message.Chat.Id, message.From.Id, ct);
        var incoming = new IncomingMessage
        {
            User = User(message.From),
            Chat = chat,
            Text = text,
            MessageId = message.Id.ToString(),
            ReplyToText = message.ReplyToMessage?.Text ?? message.ReplyToMessage?.Caption,
            ReplyToMessageId = message.ReplyToMessage?.Id.ToString(),
            IsChatAdmin = admin,
            HasNonTextContent = message.Text is null && message.Document is null,
            File = message.Document is { } document ? DocumentFile(document, message.Chat.Id, isGroup) : null,
        };
        var output = new TelegramChatOutput(_bot, _outbox, _options, message.Chat.Id, isGroup);
        await _conversation.HandleMessageAsync(incoming, output, ct);
    }

    async Task HandleCallbackAsync(CallbackQuery query, CancellationToken ct)
    {
        if (query.Message is not { } carrier)
        {
            // A button on an inline-mode message: no chat to bind the payload to.
            await _outbox.SendAsync(query.From.Id, false, paced: false,
                async c => { await _bot.AnswerCallbackQuery(query.Id, "That button is not valid here.", cancellationToken: c); return true; }, ct);
            return;
        }
        bool isGroup = carrier.Chat.Type is ChatType.Group or ChatType.Supergroup;
        var output = new TelegramChatOutput(_bot, _outbox, _options, carrier.Chat.Id, isGroup, query.Id);
        var press = new ButtonPress
        {
            User = User(query.From),
            Chat = new ChatPlace(Platform, carrier.Chat.Id.ToString(), isGroup ? ChatKind.Group : ChatKind.Private),
            Payload = query.Data ?? "",
            MessageId = carrier.Id.ToString(),
            IsChatAdmin = isGroup && await IsChatAdminAsync(carrier.Chat.Id, query.From.Id, ct),
        };
        try
        {
            await _conversation.HandleButtonAsync(press, output, ct);
        }
        finally
        {
            // Every callback query is answered, or the user's client keeps spinning.
            if (!output.Acknowledged) await output.AcknowledgeButtonAsync(null, CancellationToken.None);
        }
    }

    /// <summary>"@bot text" in any chat: one result whose message is the verdict; Telegram caches it 10 s per person.</summary>
    async Task HandleInlineAsync(InlineQuery query, CancellationToken ct)
    {
        var answer = await _inline!.AnswerAsync(User(query.From), query.Query ?? "", ct);
        var result = new InlineQueryResultArticle("verdict", ChatText.Clip(answer.Title, 200), new InputTextMessageContent(ChatText.Clip(answer.MessageText, TelegramChatOutput.TelegramMaxLength)))
        {
            Description = ChatText.Clip(answer.Description, 200),
        };
        await _outbox.SendAsync(query.From.Id, false, paced: false,
            async c => { await _bot.AnswerInlineQuery(query.Id, [result], cacheTime: 10, isPersonal: true, cancellationToken: c); return true; }, ct, safeToRepeat: true);
    }

    IncomingFile DocumentFile(global::Telegram.Bot.Types.Document document, long chatId, bool isGroup) =>
        new(document.FileName ?? "file", document.MimeType, document.FileSize ?? 0, async ct =>
        {
            using var content = new MemoryStream();
            await _outbox.SendAsync(chatId, isGroup, paced: false, async c => { await _bot.GetInfoAndDownloadFile(document.FileId, content, c); return true; }, ct);
            return content.ToArray();
        });

    async Task<bool> IsChatAdminAsync(long chatId, long userId, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        if (_admins.TryGetValue((chatId, userId), out var cached) && cached.Until > now) return cached.Admin;
        bool admin;
        try
        {
            var member = await _outbox.SendAsync(chatId, true, paced: false, c => _bot.GetChatMember(chatId, userId, c), ct);
            admin = member.Status is ChatMemberStatus.Administrator or ChatMemberStatus.Creator;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogWarning(e, "Could not look up whether {User} administers chat {Chat}; treating as not an admin", userId, chatId);
            return false;
        }
        _admins[(chatId, userId)] = (admin, now.AddSeconds(_options.AdminCacheSeconds));
        return admin;
    }

    static ChatUser User(global::Telegram.Bot.Types.User from) =>
        new(Platform, from.Id.ToString(), from.Username is { Length: > 0 } u ? "@" + u : string.Join(' ', new[] { from.FirstName, from.LastName }.Where(s => !string.IsNullOrEmpty(s))));
}
