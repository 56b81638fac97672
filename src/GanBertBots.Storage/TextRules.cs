using System.Text;

namespace GanBertBots.Storage;

/// <summary>What a text must be for the store to keep it: trimmed, non-empty, not too long, valid Unicode, no NULs.</summary>
public static class TextRules
{
    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Why this text cannot be kept, or null when it can.</summary>
    public static string? Problem(string? content, int maxLength)
    {
        string trimmed = (content ?? "").Trim();
        if (trimmed.Length == 0) return "the text is empty";
        if (trimmed.Length > maxLength) return $"the text is {trimmed.Length:N0} characters; the store keeps at most {maxLength:N0}";
        if (trimmed.Contains('\0')) return "the text contains NUL characters";
        try { _ = StrictUtf8.GetByteCount(trimmed); }
        catch (EncoderFallbackException) { return "the text is not valid Unicode (a lone surrogate)"; }
        return null;
    }

    /// <summary>The content as stored (trimmed); <see cref="ArgumentException"/> with the reason when it cannot be kept.</summary>
    public static string Normalize(string? content, int maxLength) =>
        Problem(content, maxLength) is { } problem ? throw new ArgumentException(problem, nameof(content)) : content!.Trim();
}
