using GanBertBots.Bots.Discord.Interactions;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Bots.Discord;

/// <summary>How the bot receives interactions.</summary>
public enum DiscordMode
{
    /// <summary>One WebSocket per shard to the Discord gateway; interactions arrive as INTERACTION_CREATE.</summary>
    Gateway,
    /// <summary>Discord POSTs interactions to our HTTPS endpoint (stateless replicas behind a load balancer).</summary>
    Http,
}

/// <summary>
/// The <c>Discord</c> section of appsettings.json (every key can be overridden by an environment variable,
/// e.g. <c>Discord__BotToken</c>). Tests point <see cref="ApiBaseUrl"/> and <see cref="GatewayUrl"/> at local servers.
/// </summary>
public sealed class DiscordOptions
{
    public const string Section = "Discord";

    /// <summary>False leaves the Discord adapter out of the host.</summary>
    public bool Enabled { get; set; }

    /// <summary>The bot token (Developer Portal, Bot page). Sent as <c>Authorization: Bot {token}</c>.</summary>
    public string BotToken { get; set; } = "";

    /// <summary>Application (client) id: commands are registered under it, webhooks are addressed with it.</summary>
    public string ApplicationId { get; set; } = "";

    /// <summary>Hex Ed25519 public key of the application: verifies HTTP interactions.</summary>
    public string PublicKey { get; set; } = "";

    /// <summary>REST base, version included.</summary>
    public string ApiBaseUrl { get; set; } = "https://discord.com/api/v10";

    /// <summary>
    /// Gateway URL. Empty: ask <c>GET /gateway/bot</c> (the documented way). Set: use it as is (tests, proxies).
    /// <c>v=10&amp;encoding=json</c> is appended either way.
    /// </summary>
    public string GatewayUrl { get; set; } = "";

    public DiscordMode Mode { get; set; } = DiscordMode.Gateway;

    /// <summary>Gateway intents bitfield. 0 is enough: slash commands, buttons and context menus need no intent.</summary>
    public int Intents { get; set; }

    /// <summary>Snowflakes of roles whose members are moderators.</summary>
    public List<string> ModeratorRoleIds { get; set; } = [];

    /// <summary>Snowflakes of users who are moderators wherever they are (DMs included).</summary>
    public List<string> ModeratorUserIds { get; set; } = [];

    /// <summary><see cref="ModeratorUserIds"/> as the core's <c>ModeratorPolicy</c> takes them: "discord:123".</summary>
    public static IEnumerable<string> QualifiedModerators(IConfiguration configuration) =>
        (configuration.GetSection($"{Section}:ModeratorUserIds").Get<List<string>>() ?? []).Select(id => $"{DiscordInteractionHandler.Platform}:{id.Trim()}");

    /// <summary><see cref="ModeratorRoleIds"/> as the core's <c>ModeratorPolicy</c> takes them: "discord:55".</summary>
    public static IEnumerable<string> QualifiedModeratorRoles(IConfiguration configuration) =>
        (configuration.GetSection($"{Section}:ModeratorRoleIds").Get<List<string>>() ?? []).Select(id => $"{DiscordInteractionHandler.Platform}:{id.Trim()}");

    /// <summary>First shard this process runs. Null with <see cref="ShardCount"/> null: all recommended shards.</summary>
    public int? ShardId { get; set; }

    /// <summary>Total shards. Null: the <c>shards</c> recommendation of <c>GET /gateway/bot</c>.</summary>
    public int? ShardCount { get; set; }

    /// <summary>How many consecutive shards (from <see cref="ShardId"/>) this process runs. Null: one if ShardId is set, else all.</summary>
    public int? ShardsInProcess { get; set; }

    /// <summary>Register the slash and context-menu commands by bulk overwrite at start.</summary>
    public bool RegisterCommands { get; set; } = true;

    /// <summary>Also register /retrain, /promote, /rollback (moderator-only model operations).</summary>
    public bool RegisterModelCommands { get; set; }

    /// <summary>
    /// Register the commands in this one guild (server) instead of globally: they appear there at once, which is what
    /// testing a bot wants (global commands can take a while to reach every client). Empty: global.
    /// </summary>
    public string CommandGuildId { get; set; } = "";

    /// <summary>The "Who wrote this?" message command answers only the person who asked (ephemeral). False: the whole channel sees the verdict.</summary>
    public bool EphemeralVerdicts { get; set; } = true;

    /// <summary>Secret that signs button custom_ids. Empty: derived from the bot token (stable across replicas).</summary>
    public string ButtonSigningKey { get; set; } = "";


    /// <summary>Path of the HTTP interactions endpoint (the Interactions Endpoint URL's path in the portal).</summary>
    public string HttpPath { get; set; } = "/discord/interactions";

    /// <summary>Reject HTTP interactions whose X-Signature-Timestamp is further than this from our clock (replays).</summary>
    public TimeSpan SignatureMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    // Timings. Defaults follow the Discord documentation; tests shrink them so they run in seconds.

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="ReconnectMaxDelay"/>, with jitter.</summary>
    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>After INVALID_SESSION the docs ask for a random 1–5 s wait before identifying again.</summary>
    public TimeSpan InvalidSessionMinDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan InvalidSessionMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait for HELLO after the socket opens.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Identify concurrency window (max_concurrency identifies per this window).</summary>
    public TimeSpan IdentifyWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gateway send budget per connection: 120 events per 60 s (docs, Gateway Rate Limiting).</summary>
    public int GatewaySendLimit { get; set; } = 120;
    public TimeSpan GatewaySendWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>REST: retries of a 5xx or a 429 before the call fails with an exception (never dropped silently).</summary>
    public int RestMaxRetries { get; set; } = 5;
    /// <summary>REST: first backoff after a 5xx or network error; doubles per retry.</summary>
    public TimeSpan RestRetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);
    /// <summary>REST: the bot-wide global limit (50 requests per second per the docs).</summary>
    public int RestGlobalLimitPerSecond { get; set; } = 50;

    /// <summary>Throws a clear error naming the missing or malformed setting.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (CommandGuildId.Length > 0 && !ulong.TryParse(CommandGuildId, out _))
            problems.Add($"Discord:CommandGuildId '{CommandGuildId}' is not a guild id (digits only; empty registers globally).");
        if (string.IsNullOrWhiteSpace(ApplicationId) || !ulong.TryParse(ApplicationId, out _))
            problems.Add("Discord:ApplicationId must be the application's numeric id (Developer Portal, General Information).");
        if (Mode == DiscordMode.Gateway && string.IsNullOrWhiteSpace(BotToken))
            problems.Add("Discord:BotToken is required in gateway mode (Developer Portal, Bot page).");
        if (Mode == DiscordMode.Http && (PublicKey.Length != 64 || !PublicKey.All(Uri.IsHexDigit)))
            problems.Add("Discord:PublicKey must be the 64-hex-digit public key (Developer Portal, General Information) in http mode.");
        if (!Uri.TryCreate(ApiBaseUrl, UriKind.Absolute, out _))
            problems.Add($"Discord:ApiBaseUrl '{ApiBaseUrl}' is not an absolute URL.");
        if (GatewayUrl.Length > 0 && !Uri.TryCreate(GatewayUrl, UriKind.Absolute, out _))
            problems.Add($"Discord:GatewayUrl '{GatewayUrl}' is not an absolute URL.");
        if (ShardCount is <= 0) problems.Add("Discord:ShardCount must be at least 1.");
        if (ShardId is < 0 || (ShardId is { } id && ShardCount is { } n && id >= n))
            problems.Add("Discord:ShardId must be in [0, ShardCount).");
        foreach (var s in ModeratorRoleIds.Concat(ModeratorUserIds))
            if (!ulong.TryParse(s, out _)) problems.Add($"Moderator id '{s}' is not a Discord snowflake (digits only).");
        if (GatewaySendLimit < 10) problems.Add("Discord:GatewaySendLimit must be at least 10.");
        if (problems.Count > 0)
            throw new InvalidOperationException("Discord settings are not usable:\n  " + string.Join("\n  ", problems));
    }
}
