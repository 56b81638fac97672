namespace GanBertBots.Conversation;

/// <summary>
/// Who moderates: the one decision for every platform. Adapters feed it the platform's facts (is the sender an admin
/// of this chat, which roles do they hold); the core and the adapters' early checks both ask it.
/// <list type="bullet">
/// <item>Configured people (<c>Bots:Moderators</c>, "telegram:12345"; Discord's <c>ModeratorUserIds</c> count as
/// "discord:…") moderate everywhere, private chats included.</item>
/// <item>In a group: admins of that chat (Telegram administrators, Discord members with Manage Messages or
/// Administrator), and members holding a configured role ("discord:55").</item>
/// </list>
/// </summary>
public sealed class ModeratorPolicy(IEnumerable<string> people, IEnumerable<string>? roles = null)
{
    readonly HashSet<string> _people = new(people.Select(p => p.Trim()), StringComparer.OrdinalIgnoreCase);
    readonly HashSet<string> _roles = new((roles ?? []).Select(r => r.Trim()), StringComparer.OrdinalIgnoreCase);

    /// <summary>The configured people, platform-qualified.</summary>
    public IReadOnlyCollection<string> People => _people;

    public bool IsModerator(ChatUser user, ChatPlace chat, bool isChatAdmin, IReadOnlyList<string> roleIds)
    {
        if (_people.Contains(user.QualifiedId)) return true;
        if (chat.Kind != ChatKind.Group) return false;
        return isChatAdmin || roleIds.Any(r => _roles.Contains($"{chat.Platform}:{r}"));
    }

    public bool IsModerator(IncomingMessage m) => IsModerator(m.User, m.Chat, m.IsChatAdmin, m.RoleIds);
    public bool IsModerator(ButtonPress p) => IsModerator(p.User, p.Chat, p.IsChatAdmin, p.RoleIds);
}
