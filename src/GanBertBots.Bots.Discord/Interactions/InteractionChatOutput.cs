using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord.Rest;
using GanBertBots.Conversation;

namespace GanBertBots.Bots.Discord.Interactions;

/// <summary>
/// The conversation core's <see cref="IChatOutput"/> for one Discord interaction, after its deferred response:
/// the first reply to a command replaces the "thinking…" message (<c>PATCH …/messages/@original</c>), later replies
/// are follow-ups (<c>POST /webhooks/{app}/{token}</c>); for a button, @original is the message that carried the
/// button, so editing that message edits @original. Button notices (the core's toast) become ephemeral follow-ups.
/// Texts are cut to 2,000 characters, buttons laid out in rows of at most five, and echoed user text never pings.
/// </summary>
public sealed class InteractionChatOutput(DiscordRestClient rest, DiscordInteraction interaction, bool ephemeral) : IChatOutput
{
    public const int MaxContentLength = 2000;
    public const int MaxButtonLabelLength = 80;
    public const string Original = "@original";

    readonly SemaphoreSlim _order = new(1, 1);
    bool _originalUsed = interaction.Type == InteractionType.MessageComponent; // a button's @original is the message it sits on

    /// <summary>Webhook message edits share a bucket of a few per seconds; one edit a second keeps streaming text clear of 429s.</summary>
    public TimeSpan EditInterval => TimeSpan.FromSeconds(1);
    public int MaxMessageLength => MaxContentLength;

    string ChannelId => interaction.ChannelId ?? "";

    /// <summary>True once the deferred response has been replaced (always true for buttons: their message stays).</summary>
    public bool AnsweredOriginal => Volatile.Read(ref _originalUsed);

    public async Task<SentReply> SendAsync(Reply reply, CancellationToken cancellationToken)
    {
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_originalUsed)
            {
                _originalUsed = true;
                await rest.EditOriginalResponseAsync(interaction.Token, Message(reply, flags: false), cancellationToken, Attachment(reply)).ConfigureAwait(false);
                return new SentReply(ChannelId, Original);
            }
            var sent = await rest.CreateFollowupMessageAsync(interaction.Token, Message(reply, flags: ephemeral), cancellationToken, Attachment(reply)).ConfigureAwait(false);
            string id = (string?)sent?["id"] ?? throw new DiscordApiException("POST", "/webhooks/{app}/{token}", null, null, "follow-up answer has no message id");
            return new SentReply(ChannelId, id);
        }
        finally
        {
            _order.Release();
        }
    }

    public Task EditAsync(SentReply message, Reply reply, CancellationToken cancellationToken)
    {
        // The button's own message is @original of a component interaction.
        string id = message.MessageId == interaction.SourceMessageId ? Original : message.MessageId;
        return rest.EditFollowupMessageAsync(interaction.Token, id, Message(reply, flags: false), cancellationToken, Attachment(reply));
    }

    /// <summary>A deferred command already shows "… is thinking"; Discord has nothing more to show.</summary>
    public Task ShowTypingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The deferred update (type 6) already acknowledged the press; a notice goes to the presser alone.</summary>
    public async Task AcknowledgeButtonAsync(string? notice, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(notice)) return;
        var message = Message(Reply.Plain(notice), flags: true);
        await rest.CreateFollowupMessageAsync(interaction.Token, message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The JSON message body for <paramref name="reply"/>.</summary>
    /// <param name="flags">Mark ephemeral (flag 64); only a new message can be made ephemeral, edits keep what they were.</param>
    public static JsonObject Message(Reply reply, bool flags)
    {
        int count = reply.Buttons.Sum(r => r.Count);
        if (count > 25) throw new ArgumentException($"A Discord message holds at most 25 buttons (5 rows of 5); the reply has {count}.");
        var rows = new JsonArray();
        // Keep the core's rows; split any row longer than five.
        foreach (var row in reply.Buttons.Where(r => r.Count > 0).SelectMany(r => r.Chunk(5)))
        {
            rows.Add(new JsonObject
            {
                ["type"] = 1, // action row
                ["components"] = new JsonArray(row.Select(b => (JsonNode)new JsonObject
                {
                    ["type"] = 2, // button
                    ["style"] = 2, // secondary
                    ["label"] = Limit(b.Label, MaxButtonLabelLength),
                    ["custom_id"] = b.Payload.Length is > 0 and <= 100 ? b.Payload
                        : throw new ArgumentException($"Button payload of {b.Payload.Length} characters does not fit Discord's custom_id (1-100)."),
                }).ToArray()),
            });
        }
        if (rows.Count > 5) throw new ArgumentException($"A Discord message holds at most 5 rows of buttons; the reply needs {rows.Count}.");
        var message = new JsonObject
        {
            ["content"] = Limit(reply.Text.Length == 0 ? "\u200b" : reply.Text, MaxContentLength),
            ["components"] = rows,
            ["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() },
        };
        if (flags) message["flags"] = (int)MessageFlags.Ephemeral;
        return message;
    }

    /// <summary>The reply's image as a multipart upload, or null.</summary>
    public static DiscordAttachment? Attachment(Reply reply) =>
        reply.Image is { } image ? new DiscordAttachment(image.FileName, image.Png) : null;

    static string Limit(string text, int max)
    {
        if (text.Length <= max) return text;
        int cut = max - 1;
        if (char.IsHighSurrogate(text[cut - 1])) cut--; // never split a surrogate pair
        return text[..cut] + "…";
    }
}
