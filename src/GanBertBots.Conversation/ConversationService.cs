using System.Text;
using System.Text.Json;
using GanBertBots.Inference;
using GanBertBots.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Conversation;

/// <summary>
/// The product's behaviour, the same on every platform: commands, the game, feedback and moderation, rate limits
/// and wording. Adapters hand it <see cref="IncomingMessage"/>s and <see cref="ButtonPress"/>es; it answers through
/// the <see cref="IChatOutput"/> they pass. Everything a person gives is stored before it is acknowledged.
/// </summary>
public sealed class ConversationService : IConversation
{
    readonly IInferenceService _inference;
    readonly ILabelStore _store;
    readonly IModelOperations _operations;
    readonly BotOptions _options;
    readonly ButtonPayloadCodec _codec;
    readonly RateLimiter _rate;
    readonly HashSet<string> _moderators;
    readonly ILogger _log;
    readonly Random _random;

    public ConversationService(IInferenceService inference, ILabelStore store, BotOptions options,
        IModelOperations? operations = null, ILogger<ConversationService>? logger = null, TimeProvider? clock = null, Random? random = null)
    {
        options.Validate();
        _inference = inference;
        _store = store;
        _options = options;
        _operations = operations ?? new ModelOperationsNotAvailable();
        _log = (ILogger?)logger ?? NullLogger.Instance;
        _codec = new ButtonPayloadCodec(string.IsNullOrEmpty(options.CallbackSecret)
            ? Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
            : options.CallbackSecret, options.ButtonMaxAge, clock);
        _rate = new RateLimiter(options.MessagesPerMinute, options.Burst, clock ?? TimeProvider.System);
        _moderators = new HashSet<string>(options.Moderators.Select(m => m.Trim()), StringComparer.OrdinalIgnoreCase);
        _random = random ?? new Random();
    }

    public ButtonPayloadCodec Codec => _codec;

    public const string ExpiredButton = "This button has expired. Send the command again for fresh ones.";

    /// <summary>Configured moderators, plus chat admins inside the group they administer.</summary>
    public bool IsModerator(ChatUser user, ChatPlace chat, bool isChatAdmin) =>
        _moderators.Contains(user.QualifiedId) || (isChatAdmin && chat.Kind == ChatKind.Group);

    // ---- messages ------------------------------------------------------------------------------------------------

    public Task HandleMessageAsync(IncomingMessage message, IChatOutput output, CancellationToken cancellationToken) =>
        GuardAsync("Message", message.User, message.Chat, () => HandleMessageCoreAsync(message, output, cancellationToken),
            reference => output.SendAsync(Reply.Plain($"Sorry, something went wrong on my side (ref {reference}). Please try again later."), cancellationToken),
            cancellationToken);

    /// <summary>Runs one handler; an unexpected failure is logged with a reference and apologised for, never thrown at the adapter.</summary>
    async Task GuardAsync(string what, ChatUser user, ChatPlace chat, Func<Task> handle, Func<string, Task> apologise, CancellationToken ct)
    {
        try
        {
            await handle();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            string reference = Guid.NewGuid().ToString("N")[..8];
            _log.LogError(e, "{What} from {User} in {Chat} failed (ref {Ref})", what, user.QualifiedId, chat.QualifiedId, reference);
            try { await apologise(reference); }
            catch (Exception reply) when (reply is not OperationCanceledException) { _log.LogWarning(reply, "Could not send the apology (ref {Ref})", reference); }
        }
    }

    async Task HandleMessageCoreAsync(IncomingMessage message, IChatOutput output, CancellationToken ct)
    {
        string text = message.Text?.Trim() ?? "";
        bool moderator = IsModerator(message.User, message.Chat, message.IsChatAdmin);
        if (!text.StartsWith('/'))
        {
            // In groups the bot only answers commands; in a private chat anything else gets the help.
            if (message.Chat.Kind == ChatKind.Group) return;
            string intro = text.Length == 0
                ? (message.HasNonTextContent ? "I can only read text." : "That message was empty.")
                : "I answer commands.";
            await SendAsync(output, message, intro + "\n\n" + Wording.Help(moderator), ct);
            return;
        }
        if (!moderator && !_rate.TryTake(message.User.QualifiedId, out var wait))
        {
            await SendAsync(output, message, $"You're sending commands faster than I can answer; please wait {Math.Ceiling(wait.TotalSeconds):0} s.", ct);
            return;
        }

        int space = text.IndexOfAny([' ', '\n', '\t']);
        string command = (space < 0 ? text : text[..space]).ToLowerInvariant();
        int at = command.IndexOf('@');
        if (at > 0) command = command[..at];
        string args = space < 0 ? "" : text[(space + 1)..].Trim();

        switch (command)
        {
            case "/start":
                await SendAsync(output, message, "Hi! I write disaster tweets and I try to tell who wrote a text: a person or an AI.\n\n" + Wording.Help(moderator), ct);
                break;
            case "/help":
                await SendAsync(output, message, Wording.Help(moderator), ct);
                break;
            case "/tweet":
                await TweetAsync(message.User, message.Chat, args, output, message.MessageId, ct);
                break;
            case "/detect":
                await DetectAsync(message, args, output, ct);
                break;
            case "/game":
                await GameRoundAsync(message.User, message.Chat, output, ct);
                break;
            case "/stats":
                await StatsAsync(message, output, ct);
                break;
            case "/review":
                if (await RefuseUnlessModeratorAsync(message.User, message.Chat, message.IsChatAdmin, "/review", output, message, ct)) return;
                await ReviewNextAsync(message.User, message.Chat, output, ct);
                break;
            case "/mods":
                if (await RefuseUnlessModeratorAsync(message.User, message.Chat, message.IsChatAdmin, "/mods", output, message, ct)) return;
                await SendAsync(output, message, ModeratorList(message.Chat), ct);
                break;
            case "/retrain":
            case "/promote":
            case "/rollback":
                if (await RefuseUnlessModeratorAsync(message.User, message.Chat, message.IsChatAdmin, command, output, message, ct)) return;
                await output.ShowTypingAsync(ct);
                string answer = command switch
                {
                    "/retrain" => await _operations.RetrainAsync(message.User, ct),
                    "/promote" => await _operations.PromoteAsync(message.User, args.Length == 0 ? null : args, ct),
                    _ => await _operations.RollbackAsync(message.User, ct),
                };
                await SendAsync(output, message, answer, ct);
                break;
            default:
                await SendAsync(output, message, $"I don't know {Wording.Clip(command, 40)}.\n\n" + Wording.Help(moderator), ct);
                break;
        }
    }

    async Task<bool> RefuseUnlessModeratorAsync(ChatUser user, ChatPlace chat, bool isChatAdmin, string action, IChatOutput output,
        IncomingMessage? message, CancellationToken ct)
    {
        if (IsModerator(user, chat, isChatAdmin)) return false;
        _log.LogWarning("Refused moderator action {Action} by {User} ({Name}) in {Chat}", action, user.QualifiedId, user.DisplayName, chat.QualifiedId);
        const string refusal = "Sorry, only moderators can do that.";
        if (message != null) await SendAsync(output, message, refusal, ct);
        else await output.AcknowledgeButtonAsync(refusal, ct);
        return true;
    }

    string ModeratorList(ChatPlace chat)
    {
        var sb = new StringBuilder("Moderators:\n");
        var here = _options.Moderators.Where(m => m.StartsWith(chat.Platform + ":", StringComparison.OrdinalIgnoreCase)).ToList();
        if (here.Count == 0) sb.AppendLine($"(none configured for {chat.Platform})");
        foreach (var m in here) sb.Append("- ").AppendLine(m);
        if (chat.Kind == ChatKind.Group) sb.Append("Admins of this chat moderate here too.");
        return sb.ToString().TrimEnd();
    }

    // ---- /tweet --------------------------------------------------------------------------------------------------

    async Task TweetAsync(ChatUser user, ChatPlace chat, string topic, IChatOutput output, string? replyTo, CancellationToken ct)
    {
        string note = "";
        topic = Wording.CutInput(topic, _options.MaxTopicChars, out bool cut);
        if (cut) note = $"(Your topic was cut to its first {_options.MaxTopicChars} characters.)\n";
        await output.ShowTypingAsync(ct);
        string heading = topic.Length == 0 ? "Writing a tweet…" : $"Writing a tweet about \"{Wording.Clip(topic, 60)}\"…";
        var placeholder = await output.SendAsync(new Reply { Text = note + heading, ReplyToMessageId = replyTo }, ct);

        TweetResult result;
        await using (var stream = new StreamingEdit(output, placeholder, output.EditInterval, ct))
            result = await _inference.GenerateAsync(new TweetRequest(topic.Length == 0 ? null : topic), stream, ct);

        if (!result.IsCompleted)
        {
            await output.EditAsync(placeholder, Reply.Plain(note + result.Message), ct);
            return;
        }
        long id = await KeepGeneratedAsync(result, topic, user, chat, ct);
        await output.EditAsync(placeholder, new Reply
        {
            Text = note + result.Text + $"\n\n(generated by {result.ModelVersion})",
            Buttons =
            [
                [Button("🔁 Another one", ButtonKind.AnotherTweet, id, chat)],
                [Button("😮 Fooled me", ButtonKind.FooledMe, id, chat), Button("🤖 Obviously fake", ButtonKind.ObviouslyFake, id, chat)],
            ],
        }, ct);
    }

    /// <summary>Edits a message with the newest partial text at most once per interval, from one loop (never overlapping edits).</summary>
    sealed class StreamingEdit : IProgress<string>, IAsyncDisposable
    {
        readonly IChatOutput _output;
        readonly SentReply _message;
        readonly CancellationTokenSource _stop;
        readonly Task _loop;
        string? _latest;
        string? _shown;

        public StreamingEdit(IChatOutput output, SentReply message, TimeSpan interval, CancellationToken ct)
        {
            _output = output;
            _message = message;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _loop = interval <= TimeSpan.Zero ? Task.CompletedTask : Task.Run(() => LoopAsync(interval));
        }

        public void Report(string value) => Volatile.Write(ref _latest, value);

        async Task LoopAsync(TimeSpan interval)
        {
            try
            {
                while (true)
                {
                    await Task.Delay(interval, _stop.Token);
                    string? latest = Volatile.Read(ref _latest);
                    if (latest is null || latest == _shown || latest.Trim().Length == 0) continue;
                    _shown = latest;
                    await _output.EditAsync(_message, Reply.Plain(latest + " ▌"), _stop.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception) { /* a failed progress edit is not worth failing the tweet for */ }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            _stop.Dispose();
        }
    }

    // ---- /detect -------------------------------------------------------------------------------------------------

    async Task DetectAsync(IncomingMessage message, string args, IChatOutput output, CancellationToken ct)
    {
        string text = args.Length > 0 ? args : message.ReplyToText?.Trim() ?? "";
        if (text.Length == 0)
        {
            await SendAsync(output, message, "Send /detect followed by a text, or reply /detect to a message with text.", ct);
            return;
        }
        string note = "";
        int original = text.Length;
        text = Wording.CutInput(text, _options.MaxInputChars, out bool cut);
        if (cut) note = $"(Your text had {original} characters; I read the first {text.Length}.)\n";

        await output.ShowTypingAsync(ct);
        long id = (await _store.AddTextAsync(new NewText(text, TextOrigin.UserSubmitted)
        {
            SubmittedBy = Key(message.User),
            Message = new MessageRef(message.Chat.Platform, message.Chat.ChatId, message.MessageId),
        }, ct)).TextId;
        var verdict = await _inference.DetectAsync(text, ct);
        if (!verdict.IsCompleted)
        {
            await SendAsync(output, message, note + verdict.Message, ct);
            return;
        }
        await _store.AddPredictionAsync(new NewPrediction(id, verdict.ModelVersion, verdict.Label,
            verdict.Probabilities.ToDictionary(p => p.Label, p => p.Probability)), ct);
        await output.SendAsync(new Reply
        {
            Text = note + Wording.Verdict(verdict) + "\nWas I right?",
            ReplyToMessageId = message.MessageId,
            Buttons = [[Button("✅ Right", ButtonKind.VerdictRight, id, message.Chat, verdict.Label),
                        Button("❌ Wrong", ButtonKind.VerdictWrong, id, message.Chat)]],
        }, ct);
    }

    // ---- /game ---------------------------------------------------------------------------------------------------

    /// <summary>
    /// One round: a corpus text whose writer the import knew (shown as real when a person wrote it, as fake when a machine
    /// did) or a tweet from our generator (fake). Corpus texts of unknown writer are never shown.
    /// </summary>
    async Task GameRoundAsync(ChatUser user, ChatPlace chat, IChatOutput output, CancellationToken ct)
    {
        await output.ShowTypingAsync(ct);
        bool wantReal = _random.NextDouble() < _options.GameRealShare;
        StoredText? round = null;
        string? generatorProblem = null;
        if (wantReal) round = await _store.GetRandomTextAsync(TextOrigin.Corpus, ct);
        if (round is null)
        {
            var tweet = await _inference.GenerateAsync(new TweetRequest(null), null, ct);
            if (tweet.IsCompleted)
            {
                long gid = await KeepGeneratedAsync(tweet, "", user, chat, ct);
                round = await _store.GetTextAsync(gid, ct);
            }
            else generatorProblem = tweet.Message;
        }
        if (round is null && !wantReal) round = await _store.GetRandomTextAsync(TextOrigin.Corpus, ct);
        if (round is null)
        {
            await output.SendAsync(Reply.Plain("The game needs real tweets or the generator, and I have neither right now. " +
                "Import real tweets with `ganbertbots import-corpus FILE`." + (generatorProblem is null ? "" : " " + generatorProblem)), ct);
            return;
        }
        await output.SendAsync(new Reply
        {
            Text = "🎲 Real or fake? Did a person write this tweet?\n\n" + Wording.Clip(round.Content, 1000),
            Buttons = [[Button("🧑 Real", ButtonKind.GameGuess, round.Id, chat, "real"), Button("🤖 Fake", ButtonKind.GameGuess, round.Id, chat, "fake")]],
        }, ct);
    }

    async Task<long> KeepGeneratedAsync(TweetResult tweet, string topic, ChatUser user, ChatPlace chat, CancellationToken ct)
    {
        var settings = new GenerationRecord(topic.Length == 0 ? null : topic, tweet.Prompt, tweet.Settings, tweet.FinishReason);
        var kept = await _store.AddTextAsync(new NewText(tweet.Text, TextOrigin.Generated)
        {
            SubmittedBy = Key(user),
            Message = new MessageRef(chat.Platform, chat.ChatId, null),
            ModelVersion = tweet.ModelVersion,
            GenerationSettingsJson = JsonSerializer.Serialize(settings),
        }, ct);
        return kept.TextId;
    }

    /// <summary>What is kept with a generated text: the topic asked for (for "another one"), the prompt and the sampling settings.</summary>
    sealed record GenerationRecord(string? Topic, string Prompt, TweetSettings Settings, string FinishReason);

    static string? TopicOf(StoredText text)
    {
        if (text.GenerationSettingsJson is null) return null;
        try { return JsonSerializer.Deserialize<GenerationRecord>(text.GenerationSettingsJson)?.Topic; }
        catch (JsonException) { return null; }
    }

    static UserKey Key(ChatUser user) => new(user.Platform, user.UserId);

    // ---- /stats --------------------------------------------------------------------------------------------------

    async Task StatsAsync(IncomingMessage message, IChatOutput output, CancellationToken ct)
    {
        var stats = await _store.GetStatsAsync(ct);
        var score = await _store.GetGameScoreAsync(Key(message.User), ct);
        string? evaluation = await _operations.LastEvaluationAsync(ct);
        long Texts(TextOrigin o) => stats.TextsByOrigin.TryGetValue(o, out var n) ? n : 0;
        var sb = new StringBuilder();
        sb.AppendLine($"Texts kept: {stats.TotalTexts} ({Texts(TextOrigin.UserSubmitted)} from users, {Texts(TextOrigin.Generated)} generated, {Texts(TextOrigin.Corpus)} corpus)");
        sb.AppendLine($"Labels: {stats.LabelsFrom(LabelSource.Moderator)} by moderators, {stats.LabelsFrom(LabelSource.UserFeedback)} feedback, " +
                      $"{stats.LabelsFrom(LabelSource.GameGuess)} game guesses, from {stats.Labellers} {(stats.Labellers == 1 ? "person" : "people")}");
        sb.AppendLine($"Generator: {_inference.GeneratorVersion ?? "not loaded"}");
        sb.AppendLine($"Detector: {_inference.DetectorVersion ?? "not loaded"}");
        sb.AppendLine($"Last evaluation: {evaluation ?? "none yet"}");
        sb.Append($"Your game score: {score?.Correct ?? 0}/{score?.Played ?? 0}");
        await SendAsync(output, message, sb.ToString(), ct);
    }

    // ---- /review -------------------------------------------------------------------------------------------------

    async Task ReviewNextAsync(ChatUser moderator, ChatPlace chat, IChatOutput output, CancellationToken ct)
    {
        var next = await _store.GetNextForReviewAsync(Key(moderator), ct);
        if (next is null)
        {
            await output.SendAsync(Reply.Plain("Nothing left to review. 🎉"), ct);
            return;
        }
        var classes = Classes();
        var rows = classes.Select(c => Button(c, ButtonKind.ReviewLabel, next.Id, chat, c)).Chunk(3)
            .Select(r => (IReadOnlyList<ReplyButton>)r).ToList();
        rows.Add([Button("⏭ Skip", ButtonKind.ReviewSkip, next.Id, chat)]);
        string origin = next.Origin switch
        {
            TextOrigin.Generated => $"generated by {next.ModelVersion}",
            TextOrigin.Corpus when next.CorpusLabel != null => $"from the corpus {next.CorpusName}, its label: {next.CorpusLabel}",
            TextOrigin.Corpus => "from the corpus",
            _ => "sent by a user",
        };
        await output.SendAsync(new Reply { Text = $"Review #{next.Id} ({origin}). Who wrote it?\n\n{Wording.Clip(next.Content, 3000)}", Buttons = rows }, ct);
    }

    IReadOnlyList<string> Classes() => _inference.DetectorClasses.Count > 0 ? _inference.DetectorClasses : _options.Classes;

    // ---- buttons -------------------------------------------------------------------------------------------------

    public Task HandleButtonAsync(ButtonPress press, IChatOutput output, CancellationToken cancellationToken) =>
        GuardAsync("Button press", press.User, press.Chat, () => HandleButtonCoreAsync(press, output, cancellationToken),
            reference => output.AcknowledgeButtonAsync($"Sorry, something went wrong (ref {reference}).", cancellationToken),
            cancellationToken);

    async Task HandleButtonCoreAsync(ButtonPress press, IChatOutput output, CancellationToken ct)
    {
        var check = _codec.TryDecode(press.Payload, press.Chat, out var action);
        if (check != PayloadCheck.Valid)
        {
            _log.LogWarning("Refused a {Problem} button payload from {User} in {Chat}", check, press.User.QualifiedId, press.Chat.QualifiedId);
            await output.AcknowledgeButtonAsync(check == PayloadCheck.Expired ? ExpiredButton : "That button is not valid here.", ct);
            return;
        }
        var a = action!;
        bool moderator = IsModerator(press.User, press.Chat, press.IsChatAdmin);
        if (!moderator && !_rate.TryTake(press.User.QualifiedId, out var wait))
        {
            await output.AcknowledgeButtonAsync($"Too fast; please wait {Math.Ceiling(wait.TotalSeconds):0} s.", ct);
            return;
        }
        var role = moderator ? UserRole.Moderator : UserRole.User;

        if (a.Kind is ButtonKind.ReviewLabel or ButtonKind.ReviewSkip &&
            await RefuseUnlessModeratorAsync(press.User, press.Chat, press.IsChatAdmin, $"review button {a.Kind}", output, null, ct))
            return;

        var text = await _store.GetTextAsync(a.TextId, ct);
        if (text is null)
        {
            await output.AcknowledgeButtonAsync("That text is no longer known.", ct);
            return;
        }

        switch (a.Kind)
        {
            case ButtonKind.AnotherTweet:
                await output.AcknowledgeButtonAsync(null, ct);
                await TweetAsync(press.User, press.Chat, TopicOf(text) ?? "", output, null, ct);
                break;
            case ButtonKind.FooledMe:
            case ButtonKind.ObviouslyFake:
            {
                // The judgement of a person about a generated tweet: "fooled me" = they took it for a person's.
                string label = a.Kind == ButtonKind.FooledMe ? "human" : "gpt2";
                await AddLabelAsync(text, press.User, role, label, LabelSource.UserFeedback, ct);
                await output.AcknowledgeButtonAsync("Thanks, noted!", ct);
                break;
            }
            case ButtonKind.VerdictRight:
            {
                string label = a.Arg ?? "";
                if (!Classes().Contains(label)) { await output.AcknowledgeButtonAsync("That button is not valid here.", ct); return; }
                await AddLabelAsync(text, press.User, role, label, LabelSource.UserFeedback, ct);
                await output.AcknowledgeButtonAsync("Thanks, noted!", ct);
                break;
            }
            case ButtonKind.VerdictWrong:
            {
                await output.AcknowledgeButtonAsync(null, ct);
                var rows = Classes().Select(c => Button(c, ButtonKind.PickClass, text.Id, press.Chat, c)).Chunk(3)
                    .Select(r => (IReadOnlyList<ReplyButton>)r).ToList();
                await output.SendAsync(new Reply { Text = "Who wrote it, then?", Buttons = rows, ReplyToMessageId = press.MessageId }, ct);
                break;
            }
            case ButtonKind.PickClass:
            {
                string label = a.Arg ?? "";
                if (!Classes().Contains(label)) { await output.AcknowledgeButtonAsync("That class is not known.", ct); return; }
                await AddLabelAsync(text, press.User, role, label, LabelSource.UserFeedback, ct);
                await output.AcknowledgeButtonAsync($"Thanks, noted: {label}.", ct);
                if (press.MessageId != null)
                    await output.EditAsync(new SentReply(press.Chat.ChatId, press.MessageId), Reply.Plain($"Thanks! Labelled {label} by {press.User.DisplayName}."), ct);
                break;
            }
            case ButtonKind.GameGuess:
                await GameGuessAsync(press, text, a.Arg, output, ct);
                break;
            case ButtonKind.GameNext:
                await output.AcknowledgeButtonAsync(null, ct);
                await GameRoundAsync(press.User, press.Chat, output, ct);
                break;
            case ButtonKind.ReviewLabel:
            {
                string label = a.Arg ?? "";
                if (!Classes().Contains(label)) { await output.AcknowledgeButtonAsync("That class is not known.", ct); return; }
                await AddLabelAsync(text, press.User, UserRole.Moderator, label, LabelSource.Moderator, ct);
                await output.AcknowledgeButtonAsync($"Labelled #{text.Id}: {label}", ct);
                if (press.MessageId != null)
                    await output.EditAsync(new SentReply(press.Chat.ChatId, press.MessageId),
                        Reply.Plain($"#{text.Id} labelled {label} by {press.User.DisplayName}.\n\n{Wording.Clip(text.Content, 500)}"), ct);
                await ReviewNextAsync(press.User, press.Chat, output, ct);
                break;
            }
            case ButtonKind.ReviewSkip:
                await _store.SkipForReviewAsync(Key(press.User), text.Id, ct);
                await output.AcknowledgeButtonAsync("Skipped.", ct);
                if (press.MessageId != null)
                    await output.EditAsync(new SentReply(press.Chat.ChatId, press.MessageId), Reply.Plain($"#{text.Id} skipped."), ct);
                await ReviewNextAsync(press.User, press.Chat, output, ct);
                break;
        }
    }

    async Task GameGuessAsync(ButtonPress press, StoredText text, string? guess, IChatOutput output, CancellationToken ct)
    {
        // Only texts whose writer is known are played: generated ones, and corpus texts the import knew the writer of.
        if (guess is not ("real" or "fake") || text.Origin == TextOrigin.UserSubmitted || (text.Origin == TextOrigin.Corpus && text.WrittenBy is null))
        {
            await output.AcknowledgeButtonAsync("That button is not valid here.", ct);
            return;
        }
        bool isReal = text.IsHumanCorpusText;
        bool right = (guess == "real") == isReal;
        // A guess is stored as the class the person judged: "human" for real; for fake, the corpus text's machine, else
        // "gpt2" (our generator).
        string label = guess == "real" ? StoredText.Human : text.IsMachineCorpusText ? text.WrittenBy! : "gpt2";
        var player = Key(press.User);
        // One guess per person and round (a round is the text it shows): otherwise a second press after seeing the
        // answer would count again. The store enforces it with a unique key, so it holds across replicas too.
        var score = await _store.RecordGameGuessAsync(new GameGuess(text.Id, player, label, right) { DisplayName = press.User.DisplayName }, ct);
        if (score.AlreadyCounted)
        {
            await output.AcknowledgeButtonAsync("You already guessed this one.", ct);
            return;
        }
        await output.AcknowledgeButtonAsync(right ? "Right!" : "Wrong!", ct);
        string truth = isReal ? "a real text, written by a person"
            : text.IsMachineCorpusText ? $"fake, written by {text.WrittenBy} (from the corpus {text.CorpusName ?? "imported"})"
            : $"fake, written by {text.ModelVersion ?? "our generator"}";
        await output.SendAsync(new Reply
        {
            Text = $"{(right ? "✅ Right" : "❌ Wrong")}, {press.User.DisplayName}: it was {truth}.\nYour score: {score.Correct}/{score.Played}",
            Buttons = [[Button("▶ Next round", ButtonKind.GameNext, text.Id, press.Chat)]],
        }, ct);
    }

    Task AddLabelAsync(StoredText text, ChatUser user, UserRole role, string label, LabelSource source, CancellationToken ct) =>
        _store.AddLabelAsync(new NewLabel(text.Id, Key(user), role, label, source, NewLabel.DefaultWeight(source)) { DisplayName = user.DisplayName }, ct);

    // ---- helpers ---------------------------------------------------------------------------------------------------

    ReplyButton Button(string label, ButtonKind kind, long textId, ChatPlace chat, string? arg = null) =>
        new(label, _codec.Encode(new ButtonAction(kind, textId, arg), chat));

    static async Task SendAsync(IChatOutput output, IncomingMessage message, string text, CancellationToken ct) =>
        await output.SendAsync(new Reply { Text = Wording.Clip(text, output.MaxMessageLength), ReplyToMessageId = message.MessageId }, ct);

}
