using System.Text.Json.Nodes;

namespace GanBertBots.Bots.Discord.Gateway;

/// <summary>Gateway opcodes (docs/topics/opcodes-and-status-codes, Gateway Opcodes).</summary>
public enum GatewayOpcode
{
    Dispatch = 0,
    Heartbeat = 1,
    Identify = 2,
    PresenceUpdate = 3,
    VoiceStateUpdate = 4,
    Resume = 6,
    Reconnect = 7,
    RequestGuildMembers = 8,
    InvalidSession = 9,
    Hello = 10,
    HeartbeatAck = 11,
}

/// <summary>What to do after the connection ended.</summary>
public enum ReconnectAction
{
    /// <summary>Reconnect to resume_gateway_url and send RESUME with the cached session and sequence.</summary>
    Resume,
    /// <summary>Forget the session, reconnect to the cached gateway URL and IDENTIFY again.</summary>
    Reidentify,
    /// <summary>Do not reconnect: the configuration is wrong and retrying would only get the token reset.</summary>
    Stop,
}

/// <summary>Gateway close event codes and what each one asks of a client.</summary>
public static class GatewayCloseCodes
{
    /// <summary>
    /// 4004 and 4010–4014 are fatal (bad token, shard, version or intents). 4001, 4003, 4005, 4007 and 4009 mean
    /// the session is gone or unusable: identify anew. Everything else (4000, 4002, 4008, 1006, a dropped TCP
    /// connection with no code) is resumable.
    /// </summary>
    public static ReconnectAction ActionFor(int? closeCode) => closeCode switch
    {
        4004 or 4010 or 4011 or 4012 or 4013 or 4014 => ReconnectAction.Stop,
        4001 or 4003 or 4005 or 4007 or 4009 => ReconnectAction.Reidentify,
        _ => ReconnectAction.Resume,
    };

    /// <summary>The documented meaning and the fix, for logs and for the fatal error a person will read.</summary>
    public static string Describe(int? closeCode) => closeCode switch
    {
        null => "connection dropped without a close code",
        4000 => "4000 unknown error",
        4001 => "4001 unknown opcode (we sent an invalid opcode or payload)",
        4002 => "4002 decode error (we sent an invalid payload)",
        4003 => "4003 not authenticated (we sent a payload before identifying)",
        4004 => "4004 authentication failed: Discord:BotToken is wrong or was reset; copy the token from the Developer Portal (Bot page)",
        4005 => "4005 already authenticated (we identified twice)",
        4007 => "4007 invalid sequence when resuming",
        4008 => "4008 rate limited (too many gateway sends)",
        4009 => "4009 session timed out",
        4010 => "4010 invalid shard: Discord:ShardId must be below Discord:ShardCount",
        4011 => "4011 sharding required: the bot is in too many guilds for one shard; set Discord:ShardCount (or leave it empty to use Discord's recommendation)",
        4012 => "4012 invalid API version (this client speaks v10)",
        4013 => "4013 invalid intents: Discord:Intents is not a valid bitfield",
        4014 => "4014 disallowed intents: Discord:Intents asks for a privileged intent that is not enabled for the app in the Developer Portal",
        1000 or 1001 => $"{closeCode} normal closure",
        _ => $"close code {closeCode}",
    };
}

/// <summary>One gateway event (op 0) as received, in order, from one shard.</summary>
public sealed record GatewayDispatch(int ShardId, string Type, long Sequence, JsonNode? Data);

/// <summary>What this shard remembers to resume: READY's session_id and resume_gateway_url, and the last sequence.</summary>
public sealed record GatewaySessionState(string? SessionId, string? ResumeGatewayUrl, long? Sequence)
{
    public bool CanResume => SessionId is not null;
}

/// <summary>The gateway refused us for a reason no retry can fix (close codes 4004, 4010–4014).</summary>
public sealed class DiscordGatewayException(int? closeCode, string message) : Exception(message)
{
    public int? CloseCode { get; } = closeCode;
}
