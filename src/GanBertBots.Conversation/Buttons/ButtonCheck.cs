namespace GanBertBots.Conversation;

/// <summary>
/// Whether a button press may go on: its payload signed for this chat, not expired, and a moderator's where the kind
/// is for moderators. Free of I/O, so Discord's adapter asks it for its first response (within 3 s) and the
/// <see cref="ConversationRouter"/> asks it again before handling: one decoder, one policy.
/// </summary>
public sealed class ButtonCheck(ButtonPayloadCodec codec, ModeratorPolicy moderators, IEnumerable<ButtonKind> moderatorOnly)
{
    public const string Expired = "This button has expired. Send the command again for fresh ones.";
    public const string NotValid = "That button is not valid here.";
    public const string ModeratorsOnly = "Sorry, only moderators can do that.";

    readonly HashSet<ButtonKind> _moderatorOnly = [.. moderatorOnly];

    /// <summary>The outcome: the action when it may go on, else what to tell the person and a word for the log.</summary>
    public sealed record Outcome(ButtonAction? Action, bool IsModerator, string? Refusal, string? Problem)
    {
        public bool Accepted => Action is not null;
    }

    public Outcome Check(ButtonPress press)
    {
        var check = codec.TryDecode(press.Payload, press.Chat, out var action);
        bool moderator = moderators.IsModerator(press);
        if (check != PayloadCheck.Valid)
            return new(null, moderator, check == PayloadCheck.Expired ? Expired : NotValid, check.ToString());
        if (_moderatorOnly.Contains(action!.Kind) && !moderator)
            return new(null, moderator, ModeratorsOnly, $"moderator button {action.Kind}");
        return new(action, moderator, null, null);
    }
}
