namespace GanBertBots.Conversation;

/// <summary>Configuration section "Bots": behaviour shared by every platform.</summary>
public sealed class BotOptions
{
    public const string Section = "Bots";
    /// <summary>Platform-qualified ids of moderators, e.g. "telegram:12345", "discord:998877", "console:local".</summary>
    public List<string> Moderators { get; set; } = [];
    /// <summary>
    /// Platform-qualified chats that get the retraining rounds' reports, e.g. "telegram:-100123" (a group),
    /// "discord:987654321" (a channel). Empty: each moderator's private chat (from <see cref="Moderators"/>).
    /// </summary>
    public List<string> ModeratorChats { get; set; } = [];
    /// <summary>Key for signing button payloads (at least 16 characters). Empty: a random key per process (buttons die on restart).</summary>
    public string CallbackSecret { get; set; } = "";
    /// <summary>Commands and button presses one user may send per minute (moderators are not limited).</summary>
    public int MessagesPerMinute { get; set; } = 20;
    /// <summary>How many may come at once before the per-minute rate applies.</summary>
    public int Burst { get; set; } = 5;
    /// <summary>Longest text /detect reads; longer input is cut and the user told.</summary>
    public int MaxInputChars { get; set; } = 2000;
    /// <summary>Longest /tweet topic.</summary>
    public int MaxTopicChars { get; set; } = 200;
    /// <summary>
    /// Any text that is not a command in a private chat (a forwarded post, a pasted text) is judged as /detect would.
    /// Off: such text gets the help. Groups answer commands only either way (Telegram's privacy mode).
    /// </summary>
    public bool AutoDetectPrivateText { get; set; } = true;
    /// <summary>Share of /game rounds that show a real corpus tweet (the rest are generated).</summary>
    public double GameRealShare { get; set; } = 0.5;

    /// <summary>How long a button keeps working after its message was sent (older ones answer "This button has expired").</summary>
    public TimeSpan ButtonMaxAge { get; set; } = ButtonPayloadCodec.DefaultMaxAge;

    public void Validate()
    {
        if (ButtonMaxAge <= TimeSpan.Zero) throw new ArgumentException("Bots:ButtonMaxAge must be positive (a time span such as 7.00:00:00)");
        if (MessagesPerMinute < 1) throw new ArgumentException("Bots:MessagesPerMinute must be at least 1");
        if (Burst < 1) throw new ArgumentException("Bots:Burst must be at least 1");
        if (MaxInputChars < 1) throw new ArgumentException("Bots:MaxInputChars must be at least 1");
        if (MaxTopicChars < 1) throw new ArgumentException("Bots:MaxTopicChars must be at least 1");
        if (GameRealShare is < 0 or > 1) throw new ArgumentException("Bots:GameRealShare must be between 0 and 1");
        if (!string.IsNullOrEmpty(CallbackSecret) && CallbackSecret.Length < 16)
            throw new ArgumentException("Bots:CallbackSecret must be at least 16 characters (or empty for a random per-process key)");
        RequirePlatformQualified(Moderators, "Moderators", "telegram:12345");
        RequirePlatformQualified(ModeratorChats, "ModeratorChats", "telegram:-100123 or discord:987654321");
    }

    static void RequirePlatformQualified(IEnumerable<string> ids, string key, string example)
    {
        foreach (var id in ids)
            if (!AnnouncementTarget.IsPlatformQualified(id))
                throw new ArgumentException($"Bots:{key} entry '{id}' must be platform-qualified, like {example}");
    }
}
