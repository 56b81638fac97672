namespace GanBertBots.Bots.Discord.Interactions;

/// <summary>
/// Who may label, review and operate models on Discord: configured users (anywhere, DMs included), members of
/// configured roles, and members whose channel permissions include MANAGE_MESSAGES (1 &lt;&lt; 13) or
/// ADMINISTRATOR (1 &lt;&lt; 3), read from the interaction's <c>member.permissions</c>, which Discord computes
/// with channel overwrites applied.
/// </summary>
/// <param name="qualifiedModerators">The core's <c>Bots:Moderators</c> ("discord:123" entries count here too, so the
/// adapter's early checks agree with the core's).</param>
public sealed class ModeratorPolicy(DiscordOptions options, IEnumerable<string>? qualifiedModerators = null)
{
    public const ulong ManageMessages = 1UL << 13;
    public const ulong Administrator = 1UL << 3;

    readonly HashSet<string> _users =
    [
        .. options.ModeratorUserIds,
        .. (qualifiedModerators ?? [])
            .Where(m => m.StartsWith("discord:", StringComparison.OrdinalIgnoreCase))
            .Select(m => m["discord:".Length..].Trim()),
    ];
    readonly HashSet<string> _roles = [.. options.ModeratorRoleIds];

    public bool IsModerator(DiscordInteraction interaction)
    {
        if (interaction.UserId is { } user && _users.Contains(user)) return true;
        if (interaction.GuildId is null) return false; // roles and permissions exist only in guilds
        if (interaction.MemberRoleIds.Any(_roles.Contains)) return true;
        return interaction.MemberPermissions is { } p && (p & (ManageMessages | Administrator)) != 0;
    }
}
