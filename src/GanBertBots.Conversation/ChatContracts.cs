namespace GanBertBots.Conversation;

// The chat contracts: the shapes every adapter (Telegram, Discord, console) translates to and from.
// Adapters turn a platform update into an IncomingMessage or ButtonPress, hand it to the IConversation
// with an IChatOutput for that chat, and turn what comes back through IChatOutput into platform calls.

public enum ChatKind { Private, Group }

/// <summary>Who sent something. <see cref="Platform"/> + <see cref="UserId"/> identify the person ("telegram:12345").</summary>
public sealed record ChatUser(string Platform, string UserId, string DisplayName)
{
    /// <summary>Platform-qualified id, the form used in <c>Bots:Moderators</c>: "telegram:12345".</summary>
    public string QualifiedId => $"{Platform}:{UserId}";

    /// <summary>The person as the label store knows them.</summary>
    public UserKey Key => new(Platform, UserId);
}

/// <summary>Where something was said.</summary>
public sealed record ChatPlace(string Platform, string ChatId, ChatKind Kind)
{
    public string QualifiedId => $"{Platform}:{ChatId}";
}

/// <summary>A message someone sent to the bot (a command or plain text).</summary>
public sealed record IncomingMessage
{
    public required ChatUser User { get; init; }
    public required ChatPlace Chat { get; init; }
    /// <summary>The text as sent ("/tweet@OurBot flood" included: see <see cref="CommandLine"/>); null for non-text messages.</summary>
    public string? Text { get; init; }
    /// <summary>Platform id of this message (for replies).</summary>
    public string? MessageId { get; init; }
    /// <summary>Text of the message this one replies to, if any (for "/detect" as a reply).</summary>
    public string? ReplyToText { get; init; }
    public string? ReplyToMessageId { get; init; }
    /// <summary>Set by the adapter when the platform says the sender administers this chat (group admin, guild manager).</summary>
    public bool IsChatAdmin { get; init; }
    /// <summary>The sender's roles in this chat, as platform ids (Discord role ids); empty where the platform has none.</summary>
    public IReadOnlyList<string> RoleIds { get; init; } = [];
    /// <summary>A file sent with the message (a Telegram document); the core reads it only if it wants it.</summary>
    public IncomingFile? File { get; init; }
    /// <summary>True when the message carried something other than text (photo, sticker, voice...).</summary>
    public bool HasNonTextContent { get; init; }
}

/// <summary>A file attached to a message: its name and declared size, and how to fetch its bytes from the platform.</summary>
public sealed record IncomingFile(string FileName, string? MimeType, long Size, Func<CancellationToken, Task<byte[]>> ReadAsync);

/// <summary>Someone pressed one of the bot's buttons.</summary>
public sealed record ButtonPress
{
    public required ChatUser User { get; init; }
    public required ChatPlace Chat { get; init; }
    /// <summary>The signed payload exactly as the platform returned it (Telegram callback_data, Discord custom_id).</summary>
    public required string Payload { get; init; }
    /// <summary>The bot message that carried the button (it can be edited in place).</summary>
    public string? MessageId { get; init; }
    /// <summary>As <see cref="IncomingMessage.IsChatAdmin"/>.</summary>
    public bool IsChatAdmin { get; init; }
    /// <summary>As <see cref="IncomingMessage.RoleIds"/>.</summary>
    public IReadOnlyList<string> RoleIds { get; init; } = [];
}

/// <summary>A button under a reply. The payload is produced by <see cref="ButtonPayloadCodec"/>.</summary>
public sealed record ReplyButton(string Label, string Payload);

/// <summary>An image attached to a reply (PNG bytes).</summary>
public sealed record ReplyImage(byte[] Png, string FileName = "image.png");

/// <summary>One message the bot sends (or the new content of a message it edits).</summary>
public sealed record Reply
{
    public required string Text { get; init; }
    /// <summary>Rows of buttons; empty for none.</summary>
    public IReadOnlyList<IReadOnlyList<ReplyButton>> Buttons { get; init; } = [];
    public ReplyImage? Image { get; init; }
    /// <summary>Message this reply answers (platforms that thread replies use it).</summary>
    public string? ReplyToMessageId { get; init; }

    public static Reply Plain(string text) => new() { Text = text };
}

/// <summary>A message the bot has sent, to be edited later.</summary>
public sealed record SentReply(string ChatId, string MessageId);

/// <summary>
/// What the conversation core can do in one chat. Implemented by each adapter; the adapter owns the
/// platform's limits (send rate, edit rate, text length) and queues rather than drops.
/// </summary>
public interface IChatOutput
{
    /// <summary>Shortest interval between two edits of one message on this platform (streaming text is throttled to it).</summary>
    TimeSpan EditInterval { get; }
    /// <summary>Longest text one message may carry on this platform.</summary>
    int MaxMessageLength { get; }
    Task<SentReply> SendAsync(Reply reply, CancellationToken cancellationToken);
    Task EditAsync(SentReply message, Reply reply, CancellationToken cancellationToken);
    /// <summary>Shows "typing..." (or the platform's equivalent) for a few seconds.</summary>
    Task ShowTypingAsync(CancellationToken cancellationToken);
    /// <summary>Acknowledges a button press (Telegram answerCallbackQuery, Discord interaction response); text is a short toast or null.</summary>
    Task AcknowledgeButtonAsync(string? notice, CancellationToken cancellationToken);
}

/// <summary>
/// The conversation core as adapters see it. Both calls never throw for bad input (empty, oversized, forged,
/// unauthorised): they answer through <paramref name="output"/>. They return once the reply has been sent.
/// </summary>
public interface IConversation
{
    Task HandleMessageAsync(IncomingMessage message, IChatOutput output, CancellationToken cancellationToken);
    Task HandleButtonAsync(ButtonPress press, IChatOutput output, CancellationToken cancellationToken);
}
