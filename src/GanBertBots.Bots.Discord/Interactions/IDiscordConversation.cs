namespace GanBertBots.Bots.Discord.Interactions;

/// <summary>Who is asking, in the adapter's words (Discord snowflakes as strings).</summary>
public sealed record DiscordActor(string UserId, string UserName, string? GuildId, string? ChannelId, bool IsModerator);

/// <summary>A slash command or the "Who wrote this?" context-menu command, with its options.</summary>
/// <param name="TargetText">For the message context menu: the chosen message's text.</param>
public sealed record DiscordCommandRequest(DiscordActor Actor, string Command, IReadOnlyDictionary<string, string> Options, string? TargetText = null);

/// <summary>A verified button press: the data we signed into its custom_id.</summary>
public sealed record DiscordButtonRequest(DiscordActor Actor, string Data, string? MessageId, string? MessageText);

/// <summary>A button to show under a reply. <see cref="Data"/> is signed into the custom_id (at most 76 characters).</summary>
public sealed record DiscordButton(string Label, string Data, bool ModeratorOnly = false, DiscordButtonStyle Style = DiscordButtonStyle.Secondary);

public enum DiscordButtonStyle { Primary = 1, Secondary = 2, Success = 3, Danger = 4 }

/// <summary>
/// What to show. For a command it replaces the deferred "thinking…" message; for a button it replaces the message
/// that held the button, unless <see cref="Ephemeral"/> asks for a private follow-up instead.
/// </summary>
public sealed record DiscordReply(string Text, IReadOnlyList<DiscordButton>? Buttons = null, bool Ephemeral = false)
{
    /// <summary>Further messages after the first (follow-ups), e.g. a long report split in parts.</summary>
    public IReadOnlyList<DiscordReply> FollowUps { get; init; } = [];
}

/// <summary>
/// The seam between the Discord adapter and the product's behaviour. The adapter does everything Discord-specific
/// (deferral within 3 s, signatures, moderator checks, limits, webhooks); an implementation of this interface
/// translates to and from the platform-neutral conversation core.
/// </summary>
public interface IDiscordConversation
{
    Task<DiscordReply> HandleCommandAsync(DiscordCommandRequest request, CancellationToken cancellation);
    Task<DiscordReply> HandleButtonAsync(DiscordButtonRequest request, CancellationToken cancellation);
}
