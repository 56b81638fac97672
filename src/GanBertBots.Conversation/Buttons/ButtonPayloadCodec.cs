using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GanBertBots.Conversation;

/// <summary>What a button does when pressed.</summary>
public enum ButtonKind
{
    /// <summary>/tweet: another one on the same topic.</summary>
    AnotherTweet = 'a',
    /// <summary>/tweet: "fooled me" (the user would have taken it for a person's).</summary>
    FooledMe = 'f',
    /// <summary>/tweet: "obviously fake".</summary>
    ObviouslyFake = 'o',
    /// <summary>/detect: the verdict was right.</summary>
    VerdictRight = 'r',
    /// <summary>/detect: the verdict was wrong, show the classes.</summary>
    VerdictWrong = 'w',
    /// <summary>/detect when the answer made no claim (can't tell, too short, no evidence, a detector that failed its gate): show the classes.</summary>
    KnowWriter = 'i',
    /// <summary>/detect after "wrong" or "I know who wrote it": this is the right class (Arg = class).</summary>
    PickClass = 'c',
    /// <summary>/game: the user's guess (Arg = "real" or "fake").</summary>
    GameGuess = 'g',
    /// <summary>/game: next round.</summary>
    GameNext = 'n',
    /// <summary>/review: the moderator's label (Arg = class).</summary>
    ReviewLabel = 'm',
    /// <summary>/review: skip this text.</summary>
    ReviewSkip = 's',
    /// <summary>/forget: yes, delete what I gave (text id 0: about a person, not a text).</summary>
    ForgetConfirm = 'x',
    /// <summary>/forget: no, keep it.</summary>
    ForgetCancel = 'k',
    /// <summary>/detect: why? (the picture of how GPT-2 read the text).</summary>
    Why = 'y',
}

/// <summary>A decoded button: what to do, on which stored text, with an optional short argument.</summary>
public sealed record ButtonAction(ButtonKind Kind, long TextId, string? Arg = null);

public enum PayloadCheck { Valid, Malformed, BadSignature, Expired }

/// <summary>
/// Compact, signed button payloads shared by all adapters. Layout: <c>{kind}{issued}-{textId}[:{arg}].{sig}</c> (issued:
/// minutes since 1970 and the text id in base 36; a button older than the codec's maximum age is
/// <see cref="PayloadCheck.Expired"/>, so buttons of old messages, or of an earlier process with the same secret, stop
/// working), where
/// sig is the first 12 bytes (16 base64url characters) of HMAC-SHA256(secret, "{platform}:{chatId}\n{body}"). The chat
/// is part of what is signed but not of the payload, so a payload copied into another chat fails the check. Payloads
/// are at most <see cref="MaxBytes"/> bytes (Telegram's callback_data limit; Discord allows 100).
/// </summary>
public sealed class ButtonPayloadCodec
{
    public const int MaxBytes = 64;
    const int SignatureChars = 16;
    readonly byte[] _key;

    /// <summary>How long a button works when nothing else is configured (<c>Bots:ButtonMaxAge</c>).</summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromDays(7);
    readonly TimeSpan _maxAge;
    readonly TimeProvider _clock;

    public ButtonPayloadCodec(string secret, TimeSpan? maxAge = null, TimeProvider? clock = null)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length < 16)
            throw new ArgumentException("the callback secret (Bots:CallbackSecret) must be at least 16 characters", nameof(secret));
        _key = Encoding.UTF8.GetBytes(secret);
        _maxAge = maxAge ?? DefaultMaxAge;
        _clock = clock ?? TimeProvider.System;
    }

    long NowMinutes => _clock.GetUtcNow().ToUnixTimeSeconds() / 60;

    public string Encode(ButtonAction action, ChatPlace chat)
    {
        if (action.TextId < 0) throw new ArgumentOutOfRangeException(nameof(action), "text id must not be negative");
        if (action.Arg is { } arg && (arg.Length == 0 || arg.Any(ch => ch is ':' or '.' || ch > 127 || char.IsWhiteSpace(ch))))
            throw new ArgumentException($"button argument '{arg}' must be non-empty ASCII without ':', '.' or spaces", nameof(action));
        string body = (char)action.Kind + ToBase36(NowMinutes) + "-" + ToBase36(action.TextId) + (action.Arg is null ? "" : ":" + action.Arg);
        string payload = body + "." + Sign(body, chat);
        if (Encoding.UTF8.GetByteCount(payload) > MaxBytes)
            throw new ArgumentException($"button payload '{payload}' exceeds {MaxBytes} bytes", nameof(action));
        return payload;
    }

    public PayloadCheck TryDecode(string? payload, ChatPlace chat, out ButtonAction? action)
    {
        action = null;
        if (string.IsNullOrEmpty(payload) || payload.Length > MaxBytes) return PayloadCheck.Malformed;
        int dot = payload.LastIndexOf('.');
        if (dot < 2 || payload.Length - dot - 1 != SignatureChars) return PayloadCheck.Malformed;
        string body = payload[..dot];
        var expected = Encoding.ASCII.GetBytes(Sign(body, chat));
        var given = Encoding.ASCII.GetBytes(payload[(dot + 1)..]);
        if (!CryptographicOperations.FixedTimeEquals(expected, given)) return PayloadCheck.BadSignature;

        var kind = (ButtonKind)body[0];
        if (!Enum.IsDefined(kind)) return PayloadCheck.Malformed;
        string rest = body[1..];
        int dash = rest.IndexOf('-');
        if (dash < 1 || !TryFromBase36(rest[..dash], out long issued)) return PayloadCheck.Malformed;
        rest = rest[(dash + 1)..];
        string? arg = null;
        int colon = rest.IndexOf(':');
        if (colon >= 0) { arg = rest[(colon + 1)..]; rest = rest[..colon]; }
        if (!TryFromBase36(rest, out long id)) return PayloadCheck.Malformed;
        if (TimeSpan.FromMinutes(NowMinutes - issued) > _maxAge) return PayloadCheck.Expired;
        action = new ButtonAction(kind, id, arg);
        return PayloadCheck.Valid;
    }

    string Sign(string body, ChatPlace chat)
    {
        var mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(chat.QualifiedId + "\n" + body));
        return Convert.ToBase64String(mac, 0, 12).Replace('+', '-').Replace('/', '_');
    }

    const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";

    static string ToBase36(long value)
    {
        if (value == 0) return "0";
        var sb = new StringBuilder();
        for (; value > 0; value /= 36) sb.Insert(0, Digits[(int)(value % 36)]);
        return sb.ToString();
    }

    static bool TryFromBase36(string s, out long value)
    {
        value = 0;
        if (s.Length is 0 or > 12) return false;
        foreach (char ch in s)
        {
            int d = Digits.IndexOf(ch);
            if (d < 0) return false;
            value = value * 36 + d;
        }
        return true;
    }
}
