using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types.ReplyMarkups;

namespace GanBertBots.Testing;

/// <summary>One Bot API call the bot made, as the server saw it.</summary>
/// <param name="Buttons">callback_data of the inline keyboard, row by row (empty when none).</param>
public sealed record BotCall(string Method, long ChatId, int MessageId, string? Text, IReadOnlyList<IReadOnlyList<(string Label, string Data)>> Buttons,
    int? ReplyToMessageId, string? CallbackQueryId, TimeSpan At);

/// <summary>A photo the bot sent (sendPhoto's uploaded file).</summary>
public sealed record SentPhoto(long ChatId, int MessageId, string FileName, byte[] Content, string? Caption);

/// <summary>A message in a fake chat, as it is now (after edits).</summary>
public sealed record FakeMessage(long ChatId, int MessageId, long FromUserId, bool FromBot, string? Text,
    IReadOnlyList<IReadOnlyList<(string Label, string Data)>> Buttons);

/// <summary>
/// A Telegram Bot API server on 127.0.0.1 for tests and the bot bench: simulated people post messages and press
/// buttons (they become updates for getUpdates or webhook posts), and every call the bot makes is recorded. It
/// enforces the API's own rules where the bot could break them (callback_data at most 64 bytes, text 1-4096
/// characters, unknown messages, "message is not modified") and can answer 429 on demand.
/// </summary>
public sealed class FakeBotApiServer : FakeServer
{
    readonly object _gate = new();
    readonly List<Update> _pending = [];
    readonly List<BotCall> _calls = [];
    readonly Dictionary<(long Chat, int Id), FakeMessage> _messages = [];
    readonly Dictionary<long, int> _nextMessageId = [];
    readonly Dictionary<long, ChatType> _chatTypes = [];
    readonly HashSet<(long Chat, long User)> _admins = [];
    readonly Dictionary<string, (string Data, long Chat, int MessageId)> _openCallbacks = [];
    readonly Dictionary<string, Queue<(int Status, int RetryAfter)>> _failures = [];
    readonly HashSet<long> _blocked = [];
    readonly List<SentPhoto> _photos = [];
    readonly Stopwatch _clock = Stopwatch.StartNew();
    SemaphoreSlim _newUpdates = new(0);
    int _nextUpdateId = 1;
    long _highestConfirmed;

    public const long BotUserId = 7000000001;
    public string Token { get; }
    public string BotUsername { get; }

    FakeBotApiServer(string token, string botUsername)
    {
        Token = token;
        BotUsername = botUsername;
        App.MapPost("/bot{token}/{method}", HandleAsync);
        App.MapGet("/bot{token}/{method}", HandleAsync);
        // Files (getFile's file_path) are downloaded from /file/bot{token}/{path}.
        App.MapGet("/file/bot{token}/{**path}", (string token, string path) =>
        {
            if (token != Token) return Results.Unauthorized();
            lock (_gate) return _files.TryGetValue(path, out var f) ? Results.Bytes(f.Content, "application/octet-stream") : Results.NotFound();
        });
    }

    public static async Task<FakeBotApiServer> StartAsync(string token = "123456:TEST-token", string botUsername = "GanBertTestBot")
    {
        var server = new FakeBotApiServer(token, botUsername);
        await server.ListenAsync();
        return server;
    }

    // ---- what simulated people do --------------------------------------------------------------------------------

    /// <summary>A person writes in a chat (text null: a sticker). Returns the update id.</summary>
    public (int UpdateId, int MessageId) PostMessage(long chatId, long userId, string? text, ChatType chatType = ChatType.Private,
        int? replyToMessageId = null, string firstName = "Tester", string? username = null)
    {
        lock (_gate)
        {
            _chatTypes[chatId] = chatType;
            int id = NextMessageId(chatId);
            var message = new Message
            {
                Id = id, Date = DateTime.UtcNow, Chat = ChatOf(chatId), From = new User { Id = userId, FirstName = firstName, Username = username },
                Text = text,
            };
            if (text is null) message.Sticker = new Sticker { FileId = "sticker-1", FileUniqueId = "s1", Width = 512, Height = 512, Type = StickerType.Regular };
            if (replyToMessageId is int r && _messages.TryGetValue((chatId, r), out var replied)) message.ReplyToMessage = ToMessage(replied);
            _messages[(chatId, id)] = new FakeMessage(chatId, id, userId, false, text, []);
            return (Enqueue(new Update { Id = 0, Message = message }), id);
        }
    }

    readonly Dictionary<string, (string FileId, byte[] Content)> _files = [];

    /// <summary>A person forwards someone else's message into a chat. Returns the update id.</summary>
    public int PostForward(long chatId, long userId, string text, string originalSender)
    {
        lock (_gate)
        {
            _chatTypes[chatId] = ChatType.Private;
            int id = NextMessageId(chatId);
            var message = new Message
            {
                Id = id, Date = DateTime.UtcNow, Chat = ChatOf(chatId), From = new User { Id = userId, FirstName = "Tester" }, Text = text,
                ForwardOrigin = new MessageOriginHiddenUser { SenderUserName = originalSender, Date = DateTime.UtcNow.AddHours(-1) },
            };
            _messages[(chatId, id)] = new FakeMessage(chatId, id, userId, false, text, []);
            return Enqueue(new Update { Id = 0, Message = message });
        }
    }

    /// <summary>A person sends a file (a Telegram document) with an optional caption. Returns the update id.</summary>
    public int PostDocument(long chatId, long userId, string fileName, byte[] content, string? mimeType = "text/plain", string? caption = null,
        ChatType chatType = ChatType.Private)
    {
        lock (_gate)
        {
            _chatTypes[chatId] = chatType;
            int id = NextMessageId(chatId);
            string fileId = $"doc{chatId}-{id}";
            _files[$"documents/{fileId}"] = (fileId, content);
            var message = new Message
            {
                Id = id, Date = DateTime.UtcNow, Chat = ChatOf(chatId), From = new User { Id = userId, FirstName = "Tester" }, Caption = caption,
                Document = new Document { FileId = fileId, FileUniqueId = "u" + fileId, FileName = fileName, MimeType = mimeType, FileSize = content.Length },
            };
            _messages[(chatId, id)] = new FakeMessage(chatId, id, userId, false, caption, []);
            return Enqueue(new Update { Id = 0, Message = message });
        }
    }

    /// <summary>A person types "@bot <paramref name="query"/>" in some chat. Returns the inline query id.</summary>
    public string PostInlineQuery(long userId, string query)
    {
        lock (_gate)
        {
            string id = $"iq{_nextUpdateId}";
            Enqueue(new Update { Id = 0, InlineQuery = new InlineQuery { Id = id, From = new User { Id = userId, FirstName = "Tester" }, Query = query, Offset = "" } });
            return id;
        }
    }

    /// <summary>A person presses a button (any data: the real one or a forged one). Returns the callback query id.</summary>
    public string PressButton(long chatId, int messageId, long userId, string data, string firstName = "Tester")
    {
        lock (_gate)
        {
            if (!_messages.TryGetValue((chatId, messageId), out var carrier)) throw new InvalidOperationException($"no message {messageId} in chat {chatId}");
            string queryId = $"cq{_nextUpdateId}";
            _openCallbacks[queryId] = (data, chatId, messageId);
            Enqueue(new Update
            {
                Id = 0,
                CallbackQuery = new CallbackQuery
                {
                    Id = queryId, From = new User { Id = userId, FirstName = firstName }, Message = ToMessage(carrier), Data = data, ChatInstance = "ci" + chatId,
                },
            });
            return queryId;
        }
    }

    public void MakeAdmin(long chatId, long userId) { lock (_gate) _admins.Add((chatId, userId)); }

    /// <summary>The person of private chat <paramref name="chatId"/> blocked the bot: every send there answers 403.</summary>
    public void BlockBot(long chatId) { lock (_gate) _blocked.Add(chatId); }

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> answer 429 with retry_after.</summary>
    public void FailNext(string method, int times, int retryAfterSeconds)
    {
        lock (_gate)
        {
            if (!_failures.TryGetValue(method, out var q)) _failures[method] = q = new();
            for (int i = 0; i < times; i++) q.Enqueue((429, retryAfterSeconds));
        }
    }

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> lose their connection (the bot gets no answer; nothing is done).</summary>
    public void ResetNext(string method, int times)
    {
        lock (_gate)
        {
            if (!_failures.TryGetValue(method, out var q)) _failures[method] = q = new();
            for (int i = 0; i < times; i++) q.Enqueue((0, 0));
        }
    }

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> answer 500 (nothing done).</summary>
    public void FailNextWithServerError(string method, int times)
    {
        lock (_gate)
        {
            if (!_failures.TryGetValue(method, out var q)) _failures[method] = q = new();
            for (int i = 0; i < times; i++) q.Enqueue((500, 0));
        }
    }

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> are answered (and done) only after <paramref name="latency"/>.</summary>
    public void DelayNext(string method, int times, TimeSpan latency)
    {
        lock (_gate)
        {
            if (!_failures.TryGetValue(method, out var q)) _failures[method] = q = new();
            for (int i = 0; i < times; i++) q.Enqueue((Slow, (int)latency.TotalMilliseconds));
        }
    }

    /// <summary>A queued fault that is latency, not failure: its second value is the delay in milliseconds.</summary>
    const int Slow = -1;

    IResult GetFile(JsonObject args)
    {
        string fileId = Str(args, "file_id") ?? "";
        lock (_gate)
        {
            var found = _files.FirstOrDefault(f => f.Value.FileId == fileId);
            if (found.Key is null) return Error(400, "Bad Request: invalid file_id");
            return Ok(new JsonObject { ["file_id"] = fileId, ["file_unique_id"] = "u" + fileId, ["file_size"] = found.Value.Content.Length, ["file_path"] = found.Key });
        }
    }

    readonly List<(int Id, string Json)> _rawPending = [];

    /// <summary>
    /// An update exactly as <paramref name="json"/> writes it for the id it is given (malformed on purpose: a missing
    /// chat, a wrong type, a lone surrogate). Long polling only. Returns the update id.
    /// </summary>
    public int PostRawUpdate(Func<int, string> json)
    {
        lock (_gate)
        {
            int id = _nextUpdateId++;
            _rawPending.Add((id, json(id)));
            _newUpdates.Release();
            return id;
        }
    }

    /// <summary>The highest update id the bot has confirmed (by asking getUpdates for a later offset).</summary>
    public long HighestConfirmed { get { lock (_gate) return _highestConfirmed; } }

    int Enqueue(Update update)
    {
        update.Id = _nextUpdateId++;
        _pending.Add(update);
        _newUpdates.Release();
        return update.Id;
    }

    int NextMessageId(long chatId)
    {
        int id = _nextMessageId.TryGetValue(chatId, out var n) ? n : 1;
        _nextMessageId[chatId] = id + 1;
        return id;
    }

    Chat ChatOf(long chatId) => _chatTypes.GetValueOrDefault(chatId, ChatType.Private) is var type && type == ChatType.Private
        ? new Chat { Id = chatId, Type = ChatType.Private, FirstName = "Tester" }
        : new Chat { Id = chatId, Type = type, Title = "Test group" };

    Message ToMessage(FakeMessage m) => new()
    {
        Id = m.MessageId, Date = DateTime.UtcNow, Chat = ChatOf(m.ChatId), Text = m.Text,
        From = m.FromBot ? new User { Id = BotUserId, IsBot = true, FirstName = "GanBert", Username = BotUsername } : new User { Id = m.FromUserId, FirstName = "Tester" },
        ReplyMarkup = m.Buttons.Count == 0 ? null : new InlineKeyboardMarkup(
            m.Buttons.Select(r => r.Select(b => InlineKeyboardButton.WithCallbackData(b.Label, b.Data)))),
    };

    // ---- what the bot did --------------------------------------------------------------------------------------------

    public IReadOnlyList<BotCall> Calls { get { lock (_gate) return [.. _calls]; } }
    public IReadOnlyList<BotCall> CallsIn(long chatId) { lock (_gate) return _calls.Where(c => c.ChatId == chatId).ToList(); }
    /// <summary>Photos sent to <paramref name="chatId"/>, in order, with the uploaded bytes.</summary>
    public IReadOnlyList<SentPhoto> PhotosIn(long chatId) { lock (_gate) return _photos.Where(p => p.ChatId == chatId).ToList(); }
    public FakeMessage? MessageAt(long chatId, int messageId) { lock (_gate) return _messages.GetValueOrDefault((chatId, messageId)); }
    /// <summary>Updates not yet confirmed by a later getUpdates offset.</summary>
    public int PendingUpdates { get { lock (_gate) return _pending.Count; } }
    public int UpdatesPosted { get { lock (_gate) return _nextUpdateId - 1; } }
    /// <summary>Callback queries the bot never answered.</summary>
    public IReadOnlyList<string> UnansweredCallbacks { get { lock (_gate) return [.. _openCallbacks.Keys]; } }
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Waits until a call matching <paramref name="match"/> has been made (polling every 5 ms).</summary>
    public async Task<BotCall> WaitForCallAsync(Func<BotCall, bool> match, TimeSpan? timeout = null, int skip = 0)
    {
        var deadline = _clock.Elapsed + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            lock (_gate)
            {
                var hit = _calls.Where(match).Skip(skip).FirstOrDefault();
                if (hit != null) return hit;
            }
            if (_clock.Elapsed > deadline)
                throw new TimeoutException("the bot never made the expected call; it made: " +
                    string.Join(" | ", Calls.TakeLast(10).Select(c => $"{c.Method}({c.ChatId}): {c.Text}")));
            await Task.Delay(5);
        }
    }

    // ---- the API ---------------------------------------------------------------------------------------------------

    async Task<IResult> HandleAsync(HttpContext http, string token, string method)
    {
        if (token != Token) return Error(401, "Unauthorized");
        JsonObject args;
        IFormFileCollection? files;
        try { (args, files) = await ReadArgumentsAsync(http.Request); }
        catch (Exception e) when (e is JsonException or InvalidDataException) { return Error(400, "Bad Request: " + e.Message); }
        method = method.ToLowerInvariant();
        int latencyMs = 0;
        lock (_gate)
        {
            if (_failures.TryGetValue(method, out var q) && q.Count > 0 && q.Peek().Status == Slow) latencyMs = q.Dequeue().RetryAfter;
            else if (_failures.TryGetValue(method, out q) && q.Count > 0)
            {
                var (status, retry) = q.Dequeue();
                if (status == 0)
                {
                    http.Abort(); // the connection drops: the bot sees a network error, not an answer
                    return Results.Empty;
                }
                if (status != 429) return Error(status, "Internal Server Error");
                return Json(429, new JsonObject { ["ok"] = false, ["error_code"] = 429, ["description"] = $"Too Many Requests: retry after {retry}",
                    ["parameters"] = new JsonObject { ["retry_after"] = retry } });
            }
        }
        if (latencyMs > 0) await Task.Delay(latencyMs, http.RequestAborted);
        return method switch
        {
            "getme" => Ok(JsonSerializer.SerializeToNode(new User { Id = BotUserId, IsBot = true, FirstName = "GanBert", Username = BotUsername }, JsonBotAPI.Options)),
            "deletewebhook" => Ok(true),
            "setwebhook" => Record(new BotCall("setWebhook", 0, 0, Str(args, "url"), [], null, null, Now)),
            "getupdates" => await GetUpdatesAsync(args, http.RequestAborted),
            "sendmessage" or "sendphoto" => await SendMessageAsync(method, args, files),
            "editmessagetext" => EditMessage(args),
            "sendchataction" => Record(new BotCall("sendChatAction", Long(args, "chat_id"), 0, Str(args, "action"), [], null, null, Now)),
            "answercallbackquery" => AnswerCallback(args),
            "getchatmember" => GetChatMember(args),
            "getfile" => GetFile(args),
            "answerinlinequery" => AnswerInline(args),
            "setmycommands" => SetMyCommands(args),
            _ => Error(404, $"Not Found: method {method} is not implemented by the fake server"),
        };
    }

    async Task<IResult> GetUpdatesAsync(JsonObject args, CancellationToken aborted)
    {
        long offset = (long?)args["offset"] ?? 0;
        int limit = (int?)args["limit"] ?? 100;
        int timeout = (int?)args["timeout"] ?? 0;
        var deadline = _clock.Elapsed + TimeSpan.FromSeconds(timeout);
        while (true)
        {
            lock (_gate)
            {
                if (offset > 0)
                {
                    _pending.RemoveAll(u => u.Id < offset);
                    _highestConfirmed = Math.Max(_highestConfirmed, offset - 1);
                }
                if (offset > 0) _rawPending.RemoveAll(r => r.Id < offset);
                var ready = _pending.Where(u => u.Id >= offset).Select(u => (u.Id, Json: JsonSerializer.Serialize(u, JsonBotAPI.Options)))
                    .Concat(_rawPending.Where(r => r.Id >= offset)).OrderBy(r => r.Id).Take(limit).ToList();
                if (ready.Count > 0 || _clock.Elapsed >= deadline)
                    // Written by hand so that a raw (malformed) update goes out exactly as the test wrote it.
                    return Results.Text("{\"ok\":true,\"result\":[" + string.Join(",", ready.Select(r => r.Json)) + "]}",
                        "application/json", Encoding.UTF8, 200);
            }
            var left = deadline - _clock.Elapsed;
            if (left <= TimeSpan.Zero) continue;
            try { await _newUpdates.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200), aborted); }
            catch (OperationCanceledException) { return Error(499, "client closed"); }
        }
    }

    async Task<IResult> SendMessageAsync(string method, JsonObject args, IFormFileCollection? files)
    {
        long chatId = Long(args, "chat_id");
        lock (_gate)
            if (_blocked.Contains(chatId)) return Error(403, "Forbidden: bot was blocked by the user");
        // The photo is an uploaded part: named "photo", or (as Telegram.Bot sends it) any name given as photo=attach://NAME.
        string? photoField = Str(args, "photo");
        string partName = photoField is not null && photoField.StartsWith("attach://", StringComparison.Ordinal) ? photoField["attach://".Length..] : "photo";
        var photo = method == "sendphoto" ? files?.GetFile(partName) : null;
        if (method == "sendphoto" && photo is null) return Error(400, "Bad Request: there is no photo in the request");
        byte[] content = [];
        if (photo is not null)
        {
            using var bytes = new MemoryStream();
            await photo.CopyToAsync(bytes);
            content = bytes.ToArray();
            if (content.Length == 0) return Error(400, "Bad Request: file must be non-empty");
        }
        string? text = method == "sendphoto" ? Str(args, "caption") : Str(args, "text");
        if (method == "sendmessage" && string.IsNullOrEmpty(text)) return Error(400, "Bad Request: message text is empty");
        if (text != null && text.Length > 4096) return Error(400, "Bad Request: message is too long");
        if (method == "sendphoto" && text is { Length: > 1024 }) return Error(400, "Bad Request: message caption is too long");
        var buttons = Buttons(args, out string? invalid);
        if (invalid != null) return Error(400, invalid);
        int? replyTo = args["reply_parameters"]?["message_id"] is JsonNode r ? (int)r : null;
        lock (_gate)
        {
            int id = NextMessageId(chatId);
            var message = new FakeMessage(chatId, id, BotUserId, true, text, buttons);
            _messages[(chatId, id)] = message;
            _calls.Add(new BotCall(method == "sendphoto" ? "sendPhoto" : "sendMessage", chatId, id, text, buttons, replyTo, null, Now));
            if (photo is not null) _photos.Add(new SentPhoto(chatId, id, photo.FileName, content, text));
            return Ok(JsonSerializer.SerializeToNode(ToMessage(message), JsonBotAPI.Options));
        }
    }

    IResult EditMessage(JsonObject args)
    {
        long chatId = Long(args, "chat_id");
        int id = (int)Long(args, "message_id");
        string? text = Str(args, "text");
        if (string.IsNullOrEmpty(text)) return Error(400, "Bad Request: message text is empty");
        if (text.Length > 4096) return Error(400, "Bad Request: message is too long");
        var buttons = Buttons(args, out string? invalid);
        if (invalid != null) return Error(400, invalid);
        lock (_gate)
        {
            if (!_messages.TryGetValue((chatId, id), out var old) || !old.FromBot) return Error(400, "Bad Request: message to edit not found");
            if (old.Text == text && old.Buttons.SequenceEqual(buttons, RowComparer.Instance))
                return Error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same");
            var message = old with { Text = text, Buttons = buttons };
            _messages[(chatId, id)] = message;
            _calls.Add(new BotCall("editMessageText", chatId, id, text, buttons, null, null, Now));
            return Ok(JsonSerializer.SerializeToNode(ToMessage(message), JsonBotAPI.Options));
        }
    }

    IResult AnswerCallback(JsonObject args)
    {
        string id = Str(args, "callback_query_id") ?? "";
        lock (_gate)
        {
            if (!_openCallbacks.Remove(id, out var query)) return Error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid");
            _calls.Add(new BotCall("answerCallbackQuery", query.Chat, query.MessageId, Str(args, "text"), [], null, id, Now));
        }
        return Ok(true);
    }

    /// <summary>Recorded as a call with Text = the first result's title and message text ("title\n---\nmessage"), CallbackQueryId = the query id.</summary>
    IResult AnswerInline(JsonObject args)
    {
        var results = args["results"] is JsonArray a ? a : JsonNode.Parse(Str(args, "results") ?? "[]") as JsonArray;
        var first = results?.FirstOrDefault();
        string text = $"{(string?)first?["title"]}\n---\n{(string?)first?["input_message_content"]?["message_text"]}";
        lock (_gate) _calls.Add(new BotCall("answerInlineQuery", 0, 0, text, [], (int?)args["cache_time"]?.GetValue<int>(), Str(args, "inline_query_id"), Now));
        return Ok(true);
    }

    IResult GetChatMember(JsonObject args)
    {
        long chatId = Long(args, "chat_id"), userId = Long(args, "user_id");
        bool admin;
        lock (_gate)
        {
            admin = _admins.Contains((chatId, userId));
            _calls.Add(new BotCall("getChatMember", chatId, 0, userId.ToString(), [], null, null, Now));
        }
        var user = new JsonObject { ["id"] = userId, ["is_bot"] = false, ["first_name"] = "Tester" };
        var member = admin
            ? new JsonObject
            {
                ["status"] = "administrator", ["user"] = user, ["can_be_edited"] = false, ["is_anonymous"] = false, ["can_manage_chat"] = true,
                ["can_delete_messages"] = true, ["can_manage_video_chats"] = true, ["can_restrict_members"] = true, ["can_promote_members"] = false,
                ["can_change_info"] = true, ["can_invite_users"] = true, ["can_post_stories"] = false, ["can_edit_stories"] = false, ["can_delete_stories"] = false,
            }
            : new JsonObject { ["status"] = "member", ["user"] = user };
        return Ok(member);
    }

    /// <summary>
    /// setMyCommands, checked as the Bot API checks it (at most 100 commands; names of 1-32 characters a-z, 0-9 and _;
    /// descriptions of 1-256 characters). Recorded with the scope's chat id (0 = everyone) and the menu as
    /// "name - description" lines in <see cref="BotCall.Text"/>.
    /// </summary>
    IResult SetMyCommands(JsonObject args)
    {
        var commands = args["commands"] is JsonValue v && v.TryGetValue<string>(out var raw) ? JsonNode.Parse(raw) : args["commands"];
        if (commands is not JsonArray list || list.Count > 100) return Error(400, "Bad Request: commands must be an array of at most 100 commands");
        var lines = new List<string>();
        foreach (var c in list)
        {
            string name = (string?)c?["command"] ?? "", description = (string?)c?["description"] ?? "";
            if (name.Length is < 1 or > 32 || !name.All(ch => ch is >= 'a' and <= 'z' or >= '0' and <= '9' or '_'))
                return Error(400, "Bad Request: BOT_COMMAND_INVALID");
            if (description.Length is < 1 or > 256) return Error(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
            lines.Add($"{name} - {description}");
        }
        var scope = args["scope"] is JsonValue sv && sv.TryGetValue<string>(out var rawScope) ? JsonNode.Parse(rawScope) : args["scope"];
        long chat = scope?["chat_id"] is JsonNode id ? long.Parse(id.ToString()) : 0;
        return Record(new BotCall("setMyCommands", chat, 0, string.Join('\n', lines), [], null, null, Now));
    }

    IResult Record(BotCall call)
    {
        lock (_gate) _calls.Add(call);
        return Ok(true);
    }

    static IReadOnlyList<IReadOnlyList<(string, string)>> Buttons(JsonObject args, out string? invalid)
    {
        invalid = null;
        var rows = new List<IReadOnlyList<(string, string)>>();
        if (args["reply_markup"] is not JsonNode markup) return rows;
        if (markup is JsonValue v && v.TryGetValue<string>(out var s)) markup = JsonNode.Parse(s)!;
        foreach (var row in markup["inline_keyboard"]?.AsArray() ?? [])
        {
            var list = new List<(string, string)>();
            foreach (var b in row!.AsArray())
            {
                string data = (string?)b!["callback_data"] ?? "";
                if (Encoding.UTF8.GetByteCount(data) is < 1 or > 64) invalid = "Bad Request: BUTTON_DATA_INVALID";
                list.Add(((string?)b["text"] ?? "", data));
            }
            rows.Add(list);
        }
        return rows;
    }

    static async Task<(JsonObject Args, IFormFileCollection? Files)> ReadArgumentsAsync(HttpRequest request)
    {
        var args = new JsonObject();
        IFormFileCollection? files = null;
        foreach (var (k, v) in request.Query) args[k] = v.ToString();
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            foreach (var (k, v) in form) args[k] = ParseLoose(v.ToString());
            files = form.Files;
        }
        else if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            var body = await JsonNode.ParseAsync(request.Body);
            if (body is JsonObject o) foreach (var (k, v) in o.ToList()) { o.Remove(k); args[k] = v; }
        }
        return (args, files);
    }

    static JsonNode? ParseLoose(string s)
    {
        if (s.StartsWith('{') || s.StartsWith('[')) { try { return JsonNode.Parse(s); } catch (JsonException) { } }
        return s;
    }

    static long Long(JsonObject args, string name) => args[name] switch
    {
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<string>(out var s) && long.TryParse(s, out var l) => l,
        _ => 0,
    };

    static string? Str(JsonObject args, string name) => args[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : args[name]?.ToJsonString();

    static IResult Ok(JsonNode? result) => Json(200, new JsonObject { ["ok"] = true, ["result"] = result });
    static IResult Ok(bool result) => Json(200, new JsonObject { ["ok"] = true, ["result"] = result });
    static IResult Error(int code, string description) => Json(code, new JsonObject { ["ok"] = false, ["error_code"] = code, ["description"] = description });
    static IResult Json(int status, JsonObject body) => Results.Text(body.ToJsonString(), "application/json", Encoding.UTF8, status);

    sealed class RowComparer : IEqualityComparer<IReadOnlyList<(string, string)>>
    {
        public static readonly RowComparer Instance = new();
        public bool Equals(IReadOnlyList<(string, string)>? a, IReadOnlyList<(string, string)>? b) => a!.SequenceEqual(b!);
        public int GetHashCode(IReadOnlyList<(string, string)> row) => row.Count;
    }

    // ---- webhook delivery ----------------------------------------------------------------------------------------

    readonly CancellationTokenSource _stopping = new();
    readonly List<(int UpdateId, string Endpoint, int Status)> _deliveries = [];
    Task? _delivery;

    /// <summary>Every delivery attempt in webhook mode: the update, where it went, the HTTP status (0: no answer).</summary>
    public IReadOnlyList<(int UpdateId, string Endpoint, int Status)> WebhookDeliveries { get { lock (_gate) return [.. _deliveries]; } }

    /// <summary>
    /// Webhook mode, as Telegram does it behind a load balancer: from now on every update (posted messages, pressed
    /// buttons) is POSTed, in order, to the next of <paramref name="endpoints"/> in turn with the secret token header;
    /// a refused or failed delivery is tried again at the next endpoint, so each update is delivered until one accepts it.
    /// </summary>
    public void DeliverByWebhook(IReadOnlyList<string> endpoints, string secret)
    {
        if (endpoints.Count == 0) throw new ArgumentException("at least one endpoint", nameof(endpoints));
        _delivery = Task.Run(() => DeliverAsync(endpoints, secret, _stopping.Token));
    }

    async Task DeliverAsync(IReadOnlyList<string> endpoints, string secret, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        int next = 0;
        try
        {
            while (true)
            {
                await _newUpdates.WaitAsync(ct);
                Update? update;
                lock (_gate)
                {
                    update = _pending.FirstOrDefault();
                    if (update != null) _pending.RemoveAt(0);
                }
                if (update is null) continue;
                string json = JsonSerializer.Serialize(update, JsonBotAPI.Options);
                for (int attempt = 0; attempt < 300; attempt++) // 30 s of tries: long enough for a killed service to come back
                {
                    string endpoint = endpoints[next++ % endpoints.Count];
                    int status;
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                        request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secret);
                        using var response = await http.SendAsync(request, ct);
                        status = (int)response.StatusCode;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested) { status = 0; }
                    lock (_gate) _deliveries.Add((update.Id, endpoint, status));
                    if (status is >= 200 and < 300) break;
                    await Task.Delay(100, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    public override async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        if (_delivery != null) await _delivery;
        await base.DisposeAsync();
    }
}
