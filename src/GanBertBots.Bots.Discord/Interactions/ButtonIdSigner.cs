using System.Security.Cryptography;
using System.Text;

namespace GanBertBots.Bots.Discord.Interactions;

/// <summary>What a verified button custom_id carries.</summary>
public sealed record ButtonPayload(string Data, bool ModeratorOnly);

/// <summary>
/// Signs button data into a Discord <c>custom_id</c> (at most 100 characters) so that a client cannot forge a
/// label or a moderator action: <c>{m|u}{data}.{tag}</c>, where m marks moderator-only buttons and the tag is the
/// first 16 bytes of HMAC-SHA256 over everything before the dot, base64url (22 characters). That leaves 76
/// characters for the data. The key comes from <c>Discord:ButtonSigningKey</c>, or is derived from the bot token
/// so every replica of one bot agrees.
/// </summary>
public sealed class ButtonIdSigner
{
    public const int MaxCustomIdLength = 100;
    const int TagBytes = 16;
    const int TagChars = 22; // base64url of 16 bytes, no padding
    public const int MaxDataLength = MaxCustomIdLength - 1 - 1 - TagChars;

    readonly byte[] _key;

    public ButtonIdSigner(DiscordOptions options)
    {
        if (options.ButtonSigningKey.Length > 0) _key = Encoding.UTF8.GetBytes(options.ButtonSigningKey);
        else if (options.BotToken.Length > 0) _key = SHA256.HashData(Encoding.UTF8.GetBytes("ganbertbots/discord/buttons\n" + options.BotToken));
        else throw new InvalidOperationException("Discord:ButtonSigningKey (or Discord:BotToken) is required to sign buttons.");
    }

    public string Sign(string data, bool moderatorOnly)
    {
        ArgumentException.ThrowIfNullOrEmpty(data);
        if (data.Length > MaxDataLength)
            throw new ArgumentException($"Button data is {data.Length} characters; at most {MaxDataLength} fit in a signed custom_id.", nameof(data));
        string body = (moderatorOnly ? "m" : "u") + data;
        return body + "." + Tag(body);
    }

    /// <summary>The payload if <paramref name="customId"/> was signed with our key, else null.</summary>
    public ButtonPayload? Verify(string? customId)
    {
        if (customId is null || customId.Length is < 3 + TagChars or > MaxCustomIdLength) return null;
        int dot = customId.Length - TagChars - 1;
        if (customId[dot] != '.') return null;
        string body = customId[..dot];
        if (body[0] is not ('m' or 'u')) return null;
        var expected = Encoding.ASCII.GetBytes(Tag(body));
        var given = Encoding.ASCII.GetBytes(customId[(dot + 1)..]);
        if (!CryptographicOperations.FixedTimeEquals(expected, given)) return null;
        return new ButtonPayload(body[1..], body[0] == 'm');
    }

    string Tag(string body)
    {
        var mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(body));
        return Convert.ToBase64String(mac, 0, TagBytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
