using System.Text;

namespace GanBertBots.Conversation;

/// <summary>/top: the best /game players in this chat.</summary>
public sealed class TopCommand(ILabelStore store) : Command("/top", "/top - the best real-or-fake guessers in this chat")
{
    public override async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        var board = await store.GetChatLeaderboardAsync(context.Chat.QualifiedId, 10, ct);
        if (board.Count == 0)
        {
            await context.ReplyAsync("Nobody has played /game here yet.", ct);
            return;
        }
        var sb = new StringBuilder("🏆 Best guessers here:\n");
        int rank = 0;
        foreach (var line in board)
            sb.Append(++rank).Append(". ").Append(line.DisplayName ?? line.Player.PlatformUserId)
              .Append(" - ").Append(line.Correct).Append('/').Append(line.Played).AppendLine(" right");
        await context.ReplyAsync(sb.ToString().TrimEnd(), ct);
    }
}
