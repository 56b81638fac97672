using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord.Gateway;
using GanBertBots.Bots.Discord.Rest;
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
    public const int MaxContentLength = 2000;
    public const int MaxButtonLabelLength = 80;

    readonly DiscordRestClient _rest;
    readonly IDiscordConversation _conversation;
    readonly DiscordCommandCatalog _catalog;
    readonly ButtonIdSigner _signer;
    readonly ModeratorPolicy _moderators;
    readonly ILogger _log;
    readonly CancellationTokenSource _stopping = new();
    readonly ConcurrentDictionary<Task, bool> _inFlight = new();

    /// <summary>Interaction tokens are valid for 15 minutes; give up on work a little before that.</summary>
    public TimeSpan WorkTimeout { get; init; } = TimeSpan.FromMinutes(14);

    public DiscordInteractionHandler(DiscordRestClient rest, IDiscordConversation conversation, DiscordCommandCatalog catalog,
        ButtonIdSigner signer, ModeratorPolicy moderators, ILogger<DiscordInteractionHandler>? log = null)
    {
        _rest = rest;
        _conversation = conversation;
        _catalog = catalog;
        _signer = signer;
        _moderators = moderators;
        _log = (ILogger?)log ?? NullLogger.Instance;
    }

    /// <summary>The immediate response, and the work to run once it has been sent (null when there is none).</summary>
    public sealed record Accepted(DiscordInteraction Interaction, JsonObject Response, Func<CancellationToken, Task>? Work);

    /// <summary>Number of interactions whose work is still running.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Decides the first response. Fast and free of I/O, so it always fits in Discord's 3 seconds.</summary>
    /// <exception cref="InvalidInteractionException">The payload is not a usable interaction.</exception>
    public Accepted Accept(JsonNode? payload)
    {
        var i = DiscordInteraction.Parse(payload);
        switch (i.Type)
        {
            case InteractionType.Ping:
                return new(i, Callback(InteractionCallbackType.Pong), null);

            case InteractionType.ApplicationCommand:
            {
                var command = _catalog.Find(i.CommandName, i.CommandType);
                if (command is null) return new(i, Refusal($"Unknown command '{i.CommandName}'. Try /help."), null);
                bool moderator = _moderators.IsModerator(i);
                if (command.ModeratorOnly && !moderator) return new(i, Refusal($"/{command.Name} is for moderators only."), null);
                if (command.Type == ApplicationCommandType.Message && string.IsNullOrWhiteSpace(i.TargetMessageText))
                    return new(i, Refusal("That message has no text I can check (embeds and attachments alone are not checked)."), null);
                var request = new DiscordCommandRequest(Actor(i, moderator), command.Core, i.Options, i.TargetMessageText);
                var deferred = Callback(InteractionCallbackType.DeferredChannelMessageWithSource, command.Ephemeral ? MessageFlags.Ephemeral : MessageFlags.None);
                return new(i, deferred, ct => RunCommandAsync(i, request, ct));
            }

            case InteractionType.MessageComponent:
            {
                var button = _signer.Verify(i.CustomId);
                if (button is null)
                {
                    _log.LogWarning("Discord: refused a button with an unsigned or altered custom_id from user {User}", i.UserId);
                    return new(i, Refusal("This button is not valid (it may be from an old message). Nothing was recorded."), null);
                }
                bool moderator = _moderators.IsModerator(i);
                if (button.ModeratorOnly && !moderator)
                    return new(i, Refusal("Only moderators can use this button. Nothing was recorded."), null);
                var request = new DiscordButtonRequest(Actor(i, moderator), button.Data, i.SourceMessageId, i.SourceMessageText);
                return new(i, Callback(InteractionCallbackType.DeferredUpdateMessage), ct => RunButtonAsync(i, request, ct));
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

    /// <summary>Gateway mode: INTERACTION_CREATE → callback by REST → work in the background.</summary>
    public async Task OnGatewayDispatchAsync(GatewayDispatch dispatch, CancellationToken cancellation)
    {
        if (dispatch.Type != "INTERACTION_CREATE") return;
        Accepted accepted;
        try
        {
            accepted = Accept(dispatch.Data);
        }
        catch (InvalidInteractionException e)
        {
            _log.LogError("Discord: malformed INTERACTION_CREATE (seq {Seq}): {Error}", dispatch.Sequence, e.Message);
            return;
        }
        await _rest.CreateInteractionResponseAsync(accepted.Interaction.Id, accepted.Interaction.Token, accepted.Response, cancellation).ConfigureAwait(false);
        Start(accepted);
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

    async Task RunCommandAsync(DiscordInteraction i, DiscordCommandRequest request, CancellationToken cancellation)
    {
        var reply = await AskAsync(i, () => _conversation.HandleCommandAsync(request, cancellation), cancellation).ConfigureAwait(false);
        await _rest.EditOriginalResponseAsync(i.Token, Message(reply, followUp: false), cancellation).ConfigureAwait(false);
        foreach (var more in reply.FollowUps)
            await _rest.CreateFollowupMessageAsync(i.Token, Message(more, followUp: true), cancellation).ConfigureAwait(false);
    }

    async Task RunButtonAsync(DiscordInteraction i, DiscordButtonRequest request, CancellationToken cancellation)
    {
        var reply = await AskAsync(i, () => _conversation.HandleButtonAsync(request, cancellation), cancellation).ConfigureAwait(false);
        // Deferred update (type 6): @original is the message holding the button. A private answer goes as a follow-up.
        if (reply.Ephemeral) await _rest.CreateFollowupMessageAsync(i.Token, Message(reply, followUp: true), cancellation).ConfigureAwait(false);
        else await _rest.EditOriginalResponseAsync(i.Token, Message(reply, followUp: false), cancellation).ConfigureAwait(false);
        foreach (var more in reply.FollowUps)
            await _rest.CreateFollowupMessageAsync(i.Token, Message(more, followUp: true), cancellation).ConfigureAwait(false);
    }

    async Task<DiscordReply> AskAsync(DiscordInteraction i, Func<Task<DiscordReply>> ask, CancellationToken cancellation)
    {
        try
        {
            return await ask().ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested)
        {
            _log.LogError(e, "Discord: the conversation failed on interaction {Id} ({Command}{CustomId})", i.Id, i.CommandName, i.CustomId is null ? "" : " button");
            return new DiscordReply("Sorry, something went wrong while answering. The error has been logged.", Ephemeral: i.Type == InteractionType.MessageComponent);
        }
    }

    /// <summary>A message body for an edit or a follow-up: content within 2,000 characters, signed buttons in rows of
    /// five, no pings from echoed user text.</summary>
    public JsonObject Message(DiscordReply reply, bool followUp)
    {
        var buttons = reply.Buttons ?? [];
        if (buttons.Count > 25) throw new ArgumentException($"A Discord message holds at most 25 buttons (5 rows of 5); got {buttons.Count}.");
        var rows = new JsonArray();
        foreach (var chunk in buttons.Chunk(5))
        {
            rows.Add(new JsonObject
            {
                ["type"] = 1, // action row
                ["components"] = new JsonArray(chunk.Select(b => (JsonNode)new JsonObject
                {
                    ["type"] = 2, // button
                    ["style"] = (int)b.Style,
                    ["label"] = Limit(b.Label, MaxButtonLabelLength),
                    ["custom_id"] = _signer.Sign(b.Data, b.ModeratorOnly),
                }).ToArray()),
            });
        }
        var message = new JsonObject
        {
            ["content"] = Limit(reply.Text.Length == 0 ? "(no text)" : reply.Text, MaxContentLength),
            ["components"] = rows,
            ["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() },
        };
        if (followUp && reply.Ephemeral) message["flags"] = (int)MessageFlags.Ephemeral;
        return message;
    }

    static DiscordActor Actor(DiscordInteraction i, bool moderator) =>
        new(i.UserId!, i.UserName ?? i.UserId!, i.GuildId, i.ChannelId, moderator);

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

    static string Limit(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stopping.Cancel();
        await DrainAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
