using System.Globalization;
using System.Text;
using NSec.Cryptography;

namespace GanBertBots.Bots.Discord.Http;

/// <summary>
/// Verifies Discord's request signature on HTTP interactions (docs/interactions/overview, Setting Up an Endpoint):
/// <c>X-Signature-Ed25519</c> is the hex Ed25519 signature of <c>X-Signature-Timestamp</c> followed by the raw body,
/// under the application's public key. NSec (libsodium) does the Ed25519 arithmetic. We also refuse timestamps far
/// from our clock, so a captured request cannot be replayed later.
/// </summary>
public sealed class InteractionSignatureVerifier
{
    readonly PublicKey _key;
    readonly TimeSpan _maxAge;
    readonly TimeProvider _time;

    public InteractionSignatureVerifier(string publicKeyHex, TimeSpan maxAge, TimeProvider? time = null)
    {
        byte[] raw;
        try
        {
            raw = Convert.FromHexString(publicKeyHex ?? "");
        }
        catch (FormatException)
        {
            throw new InvalidOperationException("Discord:PublicKey is not hex; copy the 64-hex-digit Public Key from the Developer Portal.");
        }
        if (raw.Length != 32) throw new InvalidOperationException($"Discord:PublicKey is {raw.Length} bytes; an Ed25519 public key is 32 (64 hex digits).");
        _key = PublicKey.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey);
        _maxAge = maxAge;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Why a request was refused, or null when it is authentic.</summary>
    public string? Check(string? signatureHex, string? timestamp, ReadOnlySpan<byte> body)
    {
        if (string.IsNullOrEmpty(signatureHex) || string.IsNullOrEmpty(timestamp)) return "missing X-Signature-Ed25519 or X-Signature-Timestamp";
        if (signatureHex.Length != 128 || !signatureHex.All(Uri.IsHexDigit)) return "X-Signature-Ed25519 is not 64 bytes of hex";
        byte[] signature = Convert.FromHexString(signatureHex);
        byte[] stamp = Encoding.UTF8.GetBytes(timestamp);
        var message = new byte[stamp.Length + body.Length];
        stamp.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(stamp.Length));
        if (!SignatureAlgorithm.Ed25519.Verify(_key, message, signature)) return "signature does not verify";
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)) return "X-Signature-Timestamp is not unix seconds";
        var age = _time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253402300799));
        if (age.Duration() > _maxAge) return $"X-Signature-Timestamp is {age.TotalSeconds:0} s away from our clock (limit {_maxAge.TotalSeconds:0} s)";
        return null;
    }
}
