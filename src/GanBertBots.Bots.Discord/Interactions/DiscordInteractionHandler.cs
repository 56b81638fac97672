using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord.Gateway;
using GanBertBots.Bots.Discord.Rest;
using GanBertBots.Conversation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Bots.Discord.Interactions;

/// <summary>
/// Answers interactions the way docs/interactions/receiving-and-responding asks: the first response goes out at
/// once, without touching a model (PONG, a deferred type 5 "thinking…" for commands, a deferred type 6 for buttons,
/// or an immediate ephemeral refusal), and the real work runs afterwards and lands as an edit of <c>@original</c>
/// plus follow-ups. The same handler serves the gateway (callback by REST) and the HTTP endpoint (callback as the
/// HTTP answer). Forged custom_ids and non-moderators pressing moderator buttons are refused before the
/// conversation sees them.
/// </summary>
public sealed class DiscordInteractionHandler : IAsyncDisposable
{
    public const string Platform = "discord";

    readonly DiscordRestClient _rest;
    readonly IConversation _conversation;
    readonly DiscordCommandCatalog _catalog;
    readonly ButtonCheck _buttons;
    readonly ModeratorPolicy _moderators;
    readonly ILogger _log;
    readonly CancellationTokenSource _stopping = new();
    readonly ConcurrentDictionary<Task, bool> _inFlight = new();

    /// <summary>Interaction tokens are valid for 15 minutes; give up on work a little before that.</summary>
    public TimeSpan WorkTimeout { get; init; } = TimeSpan.FromMinutes(14);

    /// <param name="buttons">The conversation core's button check (its codec and moderator policy).</param>
    /// <param name="moderators">The conversation core's moderator policy.</param>
    public DiscordInteractionHandler(DiscordRestClient rest, IConversation conversation, ButtonCheck buttons,
        DiscordCommandCatalog catalog, ModeratorPolicy moderators, ILogger<DiscordInteractionHandler>? log = null)
    {
        _rest = rest;
        _conversation = conversation;
        _catalog = catalog;
        _buttons = buttons;
        _moderators = moderators;
        _log = (ILogger?)log ?? NullLogger.Instance;
    }

    /// <summary>The immediate response, and the work to run once it has been sent (null when there is none).</summary>
    public sealed record Accepted(DiscordInteraction Interaction, JsonObject Response, Func<CancellationToken, Task>? Work);

    readonly RecentIds _seen = new(capacity: 100_000);

    /// <summary>The interaction ids handled lately (more than Discord's 5-minute signature window holds at any real rate).</summary>
    sealed class RecentIds(int capacity)
    {
        readonly HashSet<string> _set = [];
        readonly Queue<string> _order = new();

        /// <summary>True the first time an id is seen; the oldest ids are forgotten beyond the capacity.</summary>
        public bool FirstTime(string id)
        {
            lock (_set)
            {
                if (!_set.Add(id)) return false;
                _order.Enqueue(id);
                if (_order.Count > capacity) _set.Remove(_order.Dequeue());
                return true;
            }
        }
    }

    /// <summary>Number of interactions whose work is still running.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Decides the first response. Fast and free of I/O, so it always fits in Discord's 3 seconds.</summary>
    /// <exception cref="InvalidInteractionException">The payload is not a usable interaction.</exception>
    public Accepted Accept(JsonNode? payload)
    {
        var i = DiscordInteraction.Parse(payload);
        // A signed interaction can be posted again within its signature's 5 minutes: each id is handled once.
        if (i.Type != InteractionType.Ping && !_seen.FirstTime(i.Id))
            throw new InvalidInteractionException($"interaction {i.Id} was already handled (a replay)");
        switch (i.Type)
        {
            case InteractionType.Ping:
                return new(i, Callback(InteractionCallbackType.Pong), null);

            case InteractionType.ApplicationCommand:
            {
                var command = _catalog.Find(i.CommandName, i.CommandType);
                if (command is null) return new(i, Refusal($"Unknown command '{i.CommandName}'. Try /help."), null);
                var message = new IncomingMessage
                {
                    User = User(i),
                    Chat = Chat(i),
                    Text = CommandText(command, i),
                    MessageId = i.Id,
                    ReplyToText = i.TargetMessageText,
                    ReplyToMessageId = i.TargetMessageId,
                    IsChatAdmin = i.IsChannelAdmin,
                    RoleIds = i.MemberRoleIds,
                    File = i.Attachment is { } a ? new IncomingFile(a.FileName, a.ContentType, a.Size, ct => _rest.DownloadAsync(a.Url, ct)) : null,
                };
                if (command.ModeratorOnly && !_moderators.IsModerator(message)) return new(i, Refusal($"/{command.Name} is for moderators only."), null);
                if (command.Type == ApplicationCommandType.Message && string.IsNullOrWhiteSpace(i.TargetMessageText) && i.Attachment is null)
                    return new(i, Refusal("That message has no text I can check (embeds and attachments alone are not checked)."), null);
                var output = new InteractionChatOutput(_rest, i, command.Ephemeral);
                var deferred = Callback(InteractionCallbackType.DeferredChannelMessageWithSource, command.Ephemeral ? MessageFlags.Ephemeral : MessageFlags.None);
                return new(i, deferred, async ct =>
                {
                    await _conversation.HandleMessageAsync(message, output, ct).ConfigureAwait(false);
                    // Never leave "… is thinking" up: if the core chose to say nothing, say so.
                    if (!output.AnsweredOriginal) await output.SendAsync(Reply.Plain("Done."), ct).ConfigureAwait(false);
                });
            }

            case InteractionType.MessageComponent:
            {
                var press = new ButtonPress
                {
                    User = User(i), Chat = Chat(i), Payload = i.CustomId ?? "", MessageId = i.SourceMessageId,
                    IsChatAdmin = i.IsChannelAdmin, RoleIds = i.MemberRoleIds,
                };
                // Refused at once, as the first response (ephemeral), by the core's own check.
                var check = _buttons.Check(press);
                if (!check.Accepted)
                {
                    _log.LogWarning("Discord: refused a button ({Problem}) from user {User}", check.Problem, i.UserId);
                    string refusal = check.Refusal == ButtonCheck.NotValid
                        ? "This button is not valid here (it may be from another chat or an old message). Nothing was recorded."
                        : check.Refusal == ButtonCheck.ModeratorsOnly ? "Only moderators can label texts. Nothing was recorded." : check.Refusal!;
                    return new(i, Refusal(refusal), null);
                }
                var output = new InteractionChatOutput(_rest, i, ephemeral: i.SourceMessageEphemeral);
                return new(i, Callback(InteractionCallbackType.DeferredUpdateMessage), ct => _conversation.HandleButtonAsync(press, output, ct));
            }

            case InteractionType.ApplicationCommandAutocomplete:
                return new(i, new JsonObject
                {
                    ["type"] = (int)InteractionCallbackType.ApplicationCommandAutocompleteResult,
                    ["data"] = new JsonObject { ["choices"] = new JsonArray() },
                }, null);

            default:
                return new(i, Refusal("This kind of interaction is not supported."), null);
        }
    }

    /// <summary>
    /// Gateway mode: INTERACTION_CREATE → callback by REST → work, on a background task of its own so that a burst of
    /// interactions is answered in parallel (each has its own 3 s) and the gateway's dispatch order is never held up.
    /// If the callback fails (e.g. 10062 Unknown interaction: too late), the work does not run.
    /// </summary>
    public Task OnGatewayDispatchAsync(GatewayDispatch dispatch, CancellationToken cancellation)
    {
        if (dispatch.Type != "INTERACTION_CREATE") return Task.CompletedTask;
        Accepted accepted;
        try
        {
            accepted = Accept(dispatch.Data);
        }
        catch (InvalidInteractionException e)
        {
            _log.LogError("Discord: malformed INTERACTION_CREATE (seq {Seq}): {Error}", dispatch.Sequence, e.Message);
            return Task.CompletedTask;
        }
        var work = accepted.Work;
        Start(accepted with
        {
            Work = async ct =>
            {
                await _rest.CreateInteractionResponseAsync(accepted.Interaction.Id, accepted.Interaction.Token, accepted.Response, ct).ConfigureAwait(false);
                if (work is not null) await work(ct).ConfigureAwait(false);
            },
        });
        return Task.CompletedTask;
    }

    /// <summary>Runs the accepted work in the background (after the first response has gone out), tracked for shutdown.</summary>
    public void Start(Accepted accepted)
    {
        if (accepted.Work is null) return;
        var task = Task.Run(async () =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(WorkTimeout);
            try
            {
                await accepted.Work(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                _log.LogWarning("Discord: interaction {Id} work stopped (shutdown or 14-minute limit)", accepted.Interaction.Id);
            }
            catch (Exception e)
            {
                // Typically a DiscordApiException from the edit or follow-up: the user saw "thinking…" without an answer.
                _log.LogError(e, "Discord: could not deliver the answer to interaction {Id}", accepted.Interaction.Id);
            }
        });
        _inFlight[task] = true;
        task.ContinueWith(t => _inFlight.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>Waits (bounded) until the work of every started interaction has finished.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var all = Task.WhenAll(_inFlight.Keys);
        await Task.WhenAny(all, Task.Delay(timeout)).ConfigureAwait(false);
    }

    static ChatUser User(DiscordInteraction i) => new(Platform, i.UserId!, i.UserName ?? i.UserId!);

    /// <summary>A guild channel is a group chat; a DM is private. The channel id is what button payloads are bound to.</summary>
    static ChatPlace Chat(DiscordInteraction i) =>
        new(Platform, i.ChannelId ?? i.UserId!, i.GuildId is null ? ChatKind.Private : ChatKind.Group);

    /// <summary>The command as the core reads it: "/detect some text", "/promote v3", "/tweet" …</summary>
    static string CommandText(DiscordCommand command, DiscordInteraction i)
    {
        string args = string.Join(' ', (command.Options ?? []).Where(o => o.Type != DiscordInteraction.AttachmentOption)
            .Select(o => i.Options.GetValueOrDefault(o.Name)).Where(v => !string.IsNullOrWhiteSpace(v)));
        return args.Length == 0 ? "/" + command.Core : $"/{command.Core} {args}";
    }

    static JsonObject Callback(InteractionCallbackType type, MessageFlags flags = MessageFlags.None)
    {
        var response = new JsonObject { ["type"] = (int)type };
        if (flags != MessageFlags.None) response["data"] = new JsonObject { ["flags"] = (int)flags };
        return response;
    }

    static JsonObject Refusal(string text) => new()
    {
        ["type"] = (int)InteractionCallbackType.ChannelMessageWithSource,
        ["data"] = new JsonObject
        {
            ["content"] = text,
            ["flags"] = (int)MessageFlags.Ephemeral,
            ["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() },
        },
    };

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stopping.Cancel();
        await DrainAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
