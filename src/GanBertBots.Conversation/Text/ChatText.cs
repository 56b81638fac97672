namespace GanBertBots.Conversation;

/// <summary>Text that has to fit a message: clipping, splitting without loss, cutting input to a limit.</summary>
public static class ChatText
{
    /// <summary>Cuts <paramref name="text"/> to <paramref name="max"/> characters without splitting a surrogate pair.</summary>
    public static string Clip(string text, int max)
    {
        if (text.Length <= max) return text;
        int cut = Math.Max(0, max - 1);
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1])) cut--;
        return text[..cut] + "…";
    }

    /// <summary>
    /// Splits <paramref name="text"/> into messages of at most <paramref name="max"/> characters, nothing dropped: the
    /// parts concatenated are the text again. A part ends after the last line break in its second half when there is
    /// one, else after the last space there, else at the limit (never inside a surrogate pair).
    /// </summary>
    public static IReadOnlyList<string> Split(string text, int max)
    {
        if (max < 2) throw new ArgumentOutOfRangeException(nameof(max), max, "a message must hold at least 2 characters");
        var parts = new List<string>();
        int start = 0;
        while (text.Length - start > max)
        {
            int end = start + max; // exclusive
            int half = start + max / 2;
            int newline = text.LastIndexOf('\n', end - 1, end - half);
            int space = text.LastIndexOf(' ', end - 1, end - half);
            if (newline >= 0) end = newline + 1;
            else if (space >= 0) end = space + 1;
            else if (char.IsHighSurrogate(text[end - 1])) end--;
            parts.Add(text[start..end]);
            start = end;
        }
        if (start < text.Length) parts.Add(text[start..]);
        return parts;
    }

    /// <summary>Cuts to <paramref name="max"/> characters (whole surrogate pairs), returning whether it did.</summary>
    public static string CutInput(string text, int max, out bool cut)
    {
        cut = text.Length > max;
        if (!cut) return text;
        int end = max;
        if (char.IsHighSurrogate(text[end - 1])) end--;
        return text[..end];
    }
}
