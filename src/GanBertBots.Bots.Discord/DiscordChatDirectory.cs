using System.Collections.Concurrent;
using GanBertBots.Bots.Discord.Interactions;
using GanBertBots.Bots.Discord.Rest;
using GanBertBots.Conversation;

namespace GanBertBots.Bots.Discord;

/// <summary>
/// Discord channels the core can post to unprompted (round reports), through REST as the bot: a channel by its id,
/// or a person's DM channel, opened with <c>POST /users/@me/channels</c> (once per person; Discord answers the same
/// channel every time). Discord refuses (403, code 50007) a DM to someone who shares no server with the bot or
/// blocks DMs, and (403, 50001) a channel the bot cannot see.
/// </summary>
public sealed class DiscordChatDirectory(DiscordRestClient rest, DiscordOptions options) : IChatDirectory
{
    readonly ConcurrentDictionary<string, string> _dmChannels = new();

    public string Platform => DiscordInteractionHandler.Platform;

    public Task<IChatOutput> OpenChatAsync(string chatId, CancellationToken cancellationToken)
    {
        RequireToken();
        return Task.FromResult<IChatOutput>(new DiscordChannelOutput(rest, Snowflake(chatId, "channel")));
    }

    public async Task<IChatOutput> OpenPrivateChatAsync(string userId, CancellationToken cancellationToken)
    {
        RequireToken();
        Snowflake(userId, "user");
        if (!_dmChannels.TryGetValue(userId, out var channel))
            _dmChannels[userId] = channel = await rest.CreateDmChannelAsync(userId, cancellationToken).ConfigureAwait(false);
        return new DiscordChannelOutput(rest, channel);
    }

    void RequireToken()
    {
        if (options.BotToken.Length == 0)
            throw new InvalidOperationException("Discord:BotToken is empty: without it the bot can answer interactions but not post to channels");
    }

    static string Snowflake(string id, string what) =>
        id.Length is > 0 and <= 20 && id.All(char.IsAsciiDigit) ? id
            : throw new ArgumentException($"'{id}' is not a Discord {what} id (a snowflake: digits only)");
}

/// <summary>
/// The core's <see cref="IChatOutput"/> for a Discord channel outside any interaction: messages are created and
/// edited as the bot (<c>/channels/{id}/messages</c>), images uploaded as attachments, nobody is pinged. Texts are
/// cut to 2,000 characters like interaction answers (callers that must not lose text split to
/// <see cref="MaxMessageLength"/> first).
/// </summary>
public sealed class DiscordChannelOutput(DiscordRestClient rest, string channelId) : IChatOutput
{
    public string ChannelId => channelId;
    /// <summary>Channel message edits share a per-channel bucket of a few per 5 s.</summary>
    public TimeSpan EditInterval => TimeSpan.FromSeconds(1);
    public int MaxMessageLength => InteractionChatOutput.MaxContentLength;

    public async Task<SentReply> SendAsync(Reply reply, CancellationToken cancellationToken)
    {
        var message = InteractionChatOutput.Message(reply, flags: false);
        if (reply.ReplyToMessageId is { Length: > 0 } replyTo)
            message["message_reference"] = new System.Text.Json.Nodes.JsonObject { ["message_id"] = replyTo, ["fail_if_not_exists"] = false };
        var sent = await rest.CreateMessageAsync(channelId, message, cancellationToken, InteractionChatOutput.Attachment(reply)).ConfigureAwait(false);
        string id = (string?)sent?["id"] ?? throw new DiscordApiException("POST", "/channels/{channel}/messages", null, null, "answer has no message id");
        return new SentReply(channelId, id);
    }

    public Task EditAsync(SentReply message, Reply reply, CancellationToken cancellationToken) =>
        rest.EditMessageAsync(channelId, message.MessageId, InteractionChatOutput.Message(reply, flags: false), cancellationToken,
            InteractionChatOutput.Attachment(reply));

    public Task ShowTypingAsync(CancellationToken cancellationToken) => rest.TriggerTypingAsync(channelId, cancellationToken);

    /// <summary>No interaction to acknowledge: buttons on these messages come back as interactions of their own.</summary>
    public Task AcknowledgeButtonAsync(string? notice, CancellationToken cancellationToken) => Task.CompletedTask;
}
