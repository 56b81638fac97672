using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Conversation;

// Posting without being asked. Everything else the core says is an answer through the IChatOutput an adapter hands in
// with an incoming message; an announcement (a retraining round's report) has no incoming message, so each adapter
// also offers an IChatDirectory that opens an IChatOutput for a chat by its id.

/// <summary>
/// Opens chats of one platform for messages nobody asked for. Each adapter registers one; the outputs it opens keep
/// the platform's limits (pacing, lengths) like the ones it hands in with incoming messages.
/// </summary>
public interface IChatDirectory
{
    /// <summary>The platform's name, as in qualified ids: "telegram", "discord", "console".</summary>
    string Platform { get; }

    /// <summary>A chat (Telegram chat id, Discord channel id). Throws <see cref="ArgumentException"/> for an id the platform cannot have.</summary>
    Task<IChatOutput> OpenChatAsync(string chatId, CancellationToken cancellationToken);

    /// <summary>The private chat with a person (Telegram: the user id is the chat id; Discord: a DM channel opened through REST).</summary>
    Task<IChatOutput> OpenPrivateChatAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>Something to tell the moderators: a text (split to each platform's limit, never cut), then images, one per message.</summary>
public sealed record Announcement(string Text, IReadOnlyList<ReplyImage> Images);

/// <summary>Where an announcement goes: a chat, or a person's private chat.</summary>
public sealed record AnnouncementTarget(string Platform, string Id, bool IsPerson)
{
    public string QualifiedId => $"{Platform}:{Id}";
    public override string ToString() => IsPerson ? $"{QualifiedId} (private chat)" : QualifiedId;

    /// <summary>
    /// Whether <paramref name="id"/> is "platform:id": a non-blank platform before the first colon and a non-blank
    /// id after it that does not end in a colon (the one rule for configured moderators, chats and targets).
    /// </summary>
    public static bool IsPlatformQualified(string id)
    {
        int colon = id.IndexOf(':');
        return colon > 0 && !id.EndsWith(':')
            && !string.IsNullOrWhiteSpace(id[..colon]) && !string.IsNullOrWhiteSpace(id[(colon + 1)..]);
    }

    /// <summary>Parses a platform-qualified id ("telegram:-100123"); the platform is lower-cased.</summary>
    public static AnnouncementTarget Parse(string qualifiedId, bool isPerson)
    {
        if (!IsPlatformQualified(qualifiedId))
            throw new ArgumentException($"'{qualifiedId}' is not platform-qualified (like telegram:12345)");
        int colon = qualifiedId.IndexOf(':');
        return new AnnouncementTarget(qualifiedId[..colon].Trim().ToLowerInvariant(), qualifiedId[(colon + 1)..].Trim(), isPerson);
    }
}

/// <summary>How the announcement went in one chat: how many messages arrived, and why it stopped if it did.</summary>
public sealed record AnnouncementDelivery(AnnouncementTarget Target, int MessagesSent, int MessagesPlanned, string? Error)
{
    public bool Delivered => Error is null;
}

/// <summary>
/// Posts announcements to the moderators' chats: <c>Bots:ModeratorChats</c>, or when that is empty each moderator's
/// private chat (<c>Bots:Moderators</c>). Chats are served side by side; within a chat the text parts go first, in
/// order, then the images. A chat that cannot be reached (bot blocked, unknown chat, no adapter for its platform) is
/// logged and reported in the result; the others still get everything.
/// <para>
/// The chat directories are looked up when an announcement is posted, not when the announcer is made. The adapters
/// that own the directories depend on the conversation core, the core on the moderator commands, those on retraining,
/// and retraining on this announcer for its reports: taking the directories at construction closes that loop, and a
/// container resolving it never finishes (it hung the service at start). Looking them up per announcement keeps the
/// dependency pointing one way at construction time.
/// </para>
/// </summary>
public sealed class ModeratorAnnouncer
{
    readonly Func<IEnumerable<IChatDirectory>> _directories;
    readonly BotOptions _options;
    readonly ILogger _log;

    /// <summary>An announcer over directories found when each announcement is posted (the service's adapters).</summary>
    public ModeratorAnnouncer(Func<IEnumerable<IChatDirectory>> directories, BotOptions options, ILogger<ModeratorAnnouncer>? log = null)
    {
        _directories = directories;
        _options = options;
        _log = (ILogger?)log ?? NullLogger.Instance;
    }

    /// <summary>An announcer over a fixed set of directories.</summary>
    public ModeratorAnnouncer(IEnumerable<IChatDirectory> directories, BotOptions options, ILogger<ModeratorAnnouncer>? log = null)
        : this(Fixed(directories), options, log) { }

    static Func<IEnumerable<IChatDirectory>> Fixed(IEnumerable<IChatDirectory> directories)
    {
        var list = directories.ToList();
        return () => list;
    }

    /// <summary>The chats an announcement goes to now (each once).</summary>
    public IReadOnlyList<AnnouncementTarget> Targets()
    {
        var targets = _options.ModeratorChats.Count > 0
            ? _options.ModeratorChats.Select(c => AnnouncementTarget.Parse(c, isPerson: false))
            : _options.Moderators.Select(m => AnnouncementTarget.Parse(m, isPerson: true));
        return targets.DistinctBy(t => t.QualifiedId).ToList();
    }

    /// <summary>Posts <paramref name="announcement"/> to every target; never throws for an unreachable chat (only for cancellation).</summary>
    public async Task<IReadOnlyList<AnnouncementDelivery>> AnnounceAsync(Announcement announcement, CancellationToken cancellationToken)
    {
        var targets = Targets();
        if (targets.Count == 0)
        {
            _log.LogWarning("No moderator chat to post to (set Bots:ModeratorChats or Bots:Moderators); the announcement is only in the log");
            return [];
        }
        var directories = _directories().ToList();
        var deliveries = await Task.WhenAll(targets.Select(t => DeliverAsync(t, directories, announcement, cancellationToken)));
        int reached = deliveries.Count(d => d.Delivered);
        if (reached == deliveries.Length)
            _log.LogInformation("Announcement posted to {Count} moderator chat(s): {Chats}", reached, string.Join(", ", targets));
        else
            _log.LogWarning("Announcement posted to {Reached} of {Count} moderator chat(s); not reached: {Missed}", reached, deliveries.Length,
                string.Join(", ", deliveries.Where(d => !d.Delivered).Select(d => d.Target)));
        return deliveries;
    }

    async Task<AnnouncementDelivery> DeliverAsync(AnnouncementTarget target, IReadOnlyList<IChatDirectory> directories,
        Announcement announcement, CancellationToken ct)
    {
        int sent = 0, planned = 0;
        try
        {
            var directory = directories.FirstOrDefault(d => string.Equals(d.Platform, target.Platform, StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidOperationException($"no {target.Platform} adapter runs in this host");
            var output = target.IsPerson
                ? await directory.OpenPrivateChatAsync(target.Id, ct)
                : await directory.OpenChatAsync(target.Id, ct);
            var messages = Messages(announcement, output.MaxMessageLength);
            planned = messages.Count;
            foreach (var message in messages)
            {
                await output.SendAsync(message, ct);
                sent++;
            }
            return new AnnouncementDelivery(target, sent, planned, null);
        }
        catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            _log.LogWarning("Could not post to moderator chat {Target} after {Sent} of {Planned} message(s): {Error}",
                target, sent, planned, e.Message);
            return new AnnouncementDelivery(target, sent, planned, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The announcement as messages for a platform whose messages hold at most <paramref name="maxLength"/> characters.</summary>
    public static IReadOnlyList<Reply> Messages(Announcement announcement, int maxLength)
    {
        // Trailing white space carries nothing, and a platform refuses a message of white space alone.
        var messages = ChatText.Split(announcement.Text.TrimEnd(), maxLength)
            .Where(part => !string.IsNullOrWhiteSpace(part)).Select(Reply.Plain).ToList();
        foreach (var image in announcement.Images)
            messages.Add(new Reply { Text = ChatText.Clip(Path.GetFileNameWithoutExtension(image.FileName), maxLength), Image = image });
        return messages;
    }
}
