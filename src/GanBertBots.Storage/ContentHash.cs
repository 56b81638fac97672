using System.Security.Cryptography;
using System.Text;

namespace GanBertBots.Storage;

/// <summary>
/// The identity of a text for deduplication: SHA-256 (lower-case hex) of its UTF-8 bytes after Unicode NFC
/// normalisation, so the same tweet typed with composed or decomposed accents is one text.
/// </summary>
public static class ContentHash
{
    public static string Of(string content)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(content.Normalize(NormalizationForm.FormC));
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
