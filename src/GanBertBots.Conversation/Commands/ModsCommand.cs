using System.Text;

namespace GanBertBots.Conversation;

/// <summary>/mods (moderators): who moderates on this platform.</summary>
public sealed class ModsCommand(ModeratorPolicy moderators) : Command("/mods", "/mods - who moderates", moderatorOnly: true)
{
    public override Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        var chat = context.Chat;
        var sb = new StringBuilder("Moderators:\n");
        var here = moderators.People.Where(m => m.StartsWith(chat.Platform + ":", StringComparison.OrdinalIgnoreCase)).ToList();
        if (here.Count == 0) sb.AppendLine($"(none configured for {chat.Platform})");
        foreach (var m in here) sb.Append("- ").AppendLine(m);
        if (chat.Kind == ChatKind.Group) sb.Append("Admins of this chat moderate here too.");
        return context.ReplyAsync(sb.ToString().TrimEnd(), ct);
    }
}
