using System.Globalization;
using System.Text.Json.Nodes;

namespace GanBertBots.Bots.Discord.Interactions;

/// <summary>Interaction types (docs/interactions/receiving-and-responding, Interaction Type).</summary>
public enum InteractionType
{
    Ping = 1,
    ApplicationCommand = 2,
    MessageComponent = 3,
    ApplicationCommandAutocomplete = 4,
    ModalSubmit = 5,
}

/// <summary>Interaction callback types (Interaction Response Object).</summary>
public enum InteractionCallbackType
{
    Pong = 1,
    ChannelMessageWithSource = 4,
    DeferredChannelMessageWithSource = 5,
    DeferredUpdateMessage = 6,
    UpdateMessage = 7,
    ApplicationCommandAutocompleteResult = 8,
    Modal = 9,
}

/// <summary>Application command types: slash (1), user context menu (2), message context menu (3).</summary>
public enum ApplicationCommandType
{
    ChatInput = 1,
    User = 2,
    Message = 3,
}

/// <summary>Message flags we use.</summary>
[Flags]
public enum MessageFlags
{
    None = 0,
    /// <summary>Only the invoking user sees the message (1 &lt;&lt; 6).</summary>
    Ephemeral = 1 << 6,
}

/// <summary>An interaction payload does not have the fields its type requires.</summary>
public sealed class InvalidInteractionException(string message) : Exception(message);

/// <summary>
/// The parts of an interaction object this bot reads, parsed once with clear errors for malformed payloads.
/// <see cref="User"/> is the invoking user whether it came as <c>member.user</c> (guild) or <c>user</c> (DM).
/// </summary>
public sealed record DiscordInteraction
{
    public required string Id { get; init; }
    public required string ApplicationId { get; init; }
    public required InteractionType Type { get; init; }
    public required string Token { get; init; }
    public string? GuildId { get; init; }
    public string? ChannelId { get; init; }
    /// <summary>Invoking user id and name; null only for PING.</summary>
    public string? UserId { get; init; }
    public string? UserName { get; init; }
    /// <summary>Role ids of the invoking member (guild only).</summary>
    public IReadOnlyList<string> MemberRoleIds { get; init; } = [];
    /// <summary><c>member.permissions</c>: the member's computed permissions in this channel (guild only).</summary>
    public ulong? MemberPermissions { get; init; }

    /// <summary>The MANAGE_MESSAGES permission bit (1 &lt;&lt; 13).</summary>
    public const ulong ManageMessages = 1UL << 13;
    /// <summary>The ADMINISTRATOR permission bit (1 &lt;&lt; 3).</summary>
    public const ulong Administrator = 1UL << 3;

    /// <summary>
    /// The member administers this channel: their permissions here (Discord computes them with channel overwrites
    /// applied) include Manage Messages or Administrator. Never in DMs.
    /// </summary>
    public bool IsChannelAdmin => GuildId is not null && MemberPermissions is { } p && (p & (ManageMessages | Administrator)) != 0;

    public string? CommandName { get; init; }
    public ApplicationCommandType? CommandType { get; init; }
    /// <summary>Slash command options as strings (sub-commands are not used by this bot).</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
    /// <summary>Message context menu: the chosen message (id, text, author) from <c>data.resolved.messages</c>.</summary>
    public string? TargetMessageId { get; init; }
    public string? TargetMessageText { get; init; }
    /// <summary>
    /// A file to judge: the first attachment of the chosen message (message command), or the <c>file</c> option of
    /// /detect; both from <c>data.resolved</c>.
    /// </summary>
    public ReceivedAttachment? Attachment { get; init; }
    public string? TargetMessageAuthorId { get; init; }

    /// <summary>Component interactions: the button's custom_id and the message the button sits on.</summary>
    public string? CustomId { get; init; }
    public string? SourceMessageId { get; init; }
    public string? SourceMessageText { get; init; }
    /// <summary>True when the button sits on an ephemeral message (a moderator screen): its follow-ups stay private too.</summary>
    public bool SourceMessageEphemeral { get; init; }

    /// <summary>Application command option type ATTACHMENT.</summary>
    public const int AttachmentOption = 11;

    static ReceivedAttachment? ReadAttachment(JsonNode? a) =>
        a is null || Str(a, "url") is not { } url ? null
            : new ReceivedAttachment(Str(a, "filename") ?? "file", Str(a, "content_type"), long.TryParse(a["size"]?.ToString(), out long size) ? size : 0, url);

    public static DiscordInteraction Parse(JsonNode? json)
    {
        try
        {
            return ParseObject(json);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidCastException or ArgumentException or OverflowException)
        {
            // A field of the wrong JSON kind (an array where an object belongs, a string where a number does).
            throw new InvalidInteractionException($"interaction has a field of the wrong kind ({e.Message})");
        }
    }

    static DiscordInteraction ParseObject(JsonNode? json)
    {
        if (json is not JsonObject o) throw new InvalidInteractionException("interaction is not a JSON object");
        var type = (InteractionType)RequiredInt(o, "type");
        var user = o["member"]?["user"] ?? o["user"];
        if (type != InteractionType.Ping && user is null)
            throw new InvalidInteractionException($"interaction {Str(o, "id")} has neither member.user nor user");
        var data = o["data"] as JsonObject;

        var interaction = new DiscordInteraction
        {
            Id = RequiredString(o, "id"),
            ApplicationId = RequiredString(o, "application_id"),
            Type = type,
            Token = RequiredString(o, "token"),
            GuildId = Str(o, "guild_id"),
            ChannelId = Str(o, "channel_id") ?? Str(o["channel"], "id"),
            UserId = Str(user, "id"),
            UserName = Str(user, "global_name") ?? Str(user, "username"),
            MemberRoleIds = (o["member"]?["roles"] as JsonArray)?.Select(r => (string?)r).OfType<string>().ToArray() ?? [],
            MemberPermissions = ulong.TryParse(Str(o["member"], "permissions"), NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : null,
        };
        switch (type)
        {
            case InteractionType.ApplicationCommand or InteractionType.ApplicationCommandAutocomplete:
            {
                if (data is null) throw new InvalidInteractionException("application command interaction without data");
                var commandType = (ApplicationCommandType)((int?)data["type"] ?? 1);
                string? targetId = Str(data, "target_id");
                var target = targetId is null ? null : data["resolved"]?["messages"]?[targetId];
                return interaction with
                {
                    CommandName = RequiredString(data, "name"),
                    CommandType = commandType,
                    Options = ReadOptions(data["options"] as JsonArray),
                    TargetMessageId = commandType == ApplicationCommandType.Message ? targetId : null,
                    TargetMessageText = Str(target, "content"),
                    Attachment = ReadAttachment((target?["attachments"] as JsonArray)?.FirstOrDefault()
                        ?? ((data["options"] as JsonArray)?.FirstOrDefault(x => (int?)x?["type"] == AttachmentOption) is { } option
                            ? data["resolved"]?["attachments"]?[(string?)option["value"] ?? ""] : null)),
                    TargetMessageAuthorId = Str(target?["author"], "id"),
                };
            }
            case InteractionType.MessageComponent:
                if (data is null) throw new InvalidInteractionException("component interaction without data");
                return interaction with
                {
                    CustomId = RequiredString(data, "custom_id"),
                    SourceMessageId = Str(o["message"], "id"),
                    SourceMessageText = Str(o["message"], "content"),
                    SourceMessageEphemeral = o["message"]?["flags"] is JsonValue f && f.TryGetValue<int>(out var flags)
                                             && (flags & (int)MessageFlags.Ephemeral) != 0,
                };
            default:
                return interaction;
        }
    }

    static Dictionary<string, string> ReadOptions(JsonArray? options)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var option in options ?? [])
        {
            if (option?["name"] is not JsonValue name || option["value"] is not JsonValue value) continue;
            result[name.ToString()] = value.ToString();
        }
        return result;
    }

    static string? Str(JsonNode? node, string name) => node?[name] is JsonValue v ? v.ToString() : null;

    static string RequiredString(JsonObject o, string name) =>
        Str(o, name) is { Length: > 0 } s ? s : throw new InvalidInteractionException($"interaction field '{name}' is missing");

    static int RequiredInt(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : throw new InvalidInteractionException($"interaction field '{name}' is missing or not a number");
}

/// <summary>A file attached to a Discord message or given to a command: name, declared type and size, and where to fetch it.</summary>
public sealed record ReceivedAttachment(string FileName, string? ContentType, long Size, string Url);
