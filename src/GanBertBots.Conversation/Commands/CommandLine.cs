namespace GanBertBots.Conversation;

/// <summary>
/// A command as typed: "/tweet@OurBot flood in town" is name "/tweet", addressee "OurBot", arguments "flood in town".
/// The one parser of command text; Telegram asks it whether a command in a group was meant for another bot.
/// </summary>
public sealed record CommandLine(string Name, string? Addressee, string Arguments)
{
    /// <summary>Null when <paramref name="text"/> is not a command (does not start with '/').</summary>
    public static CommandLine? Parse(string? text)
    {
        text = text?.Trim();
        if (string.IsNullOrEmpty(text) || text[0] != '/') return null;
        int space = text.IndexOfAny([' ', '\n', '\t']);
        string head = space < 0 ? text : text[..space];
        string arguments = space < 0 ? "" : text[(space + 1)..].Trim();
        int at = head.IndexOf('@');
        string name = (at > 0 ? head[..at] : head).ToLowerInvariant();
        string? addressee = at > 0 && at < head.Length - 1 ? head[(at + 1)..] : null;
        return new CommandLine(name, addressee, arguments);
    }
}
