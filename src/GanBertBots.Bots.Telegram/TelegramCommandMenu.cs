using GanBertBots.Conversation;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Types;

namespace GanBertBots.Bots.Telegram;

/// <summary>
/// The bot's command menu (the list Telegram shows after "/"), set with <c>setMyCommands</c> at start from the conversation
/// core's commands that have a menu entry (<see cref="ICommand.Menu"/>): everyone gets the commands anyone may use; each
/// configured Telegram moderator (<c>Bots:Moderators</c> "telegram:ID") also gets the moderator commands, in their private
/// chat with the bot. A new command in the core appears here without a change to this adapter.
/// </summary>
public sealed class TelegramCommandMenu(IEnumerable<ICommand> commands, ModeratorPolicy moderators)
{
    /// <summary>The menu for everyone (<paramref name="forModerators"/> false) or for a moderator.</summary>
    public IReadOnlyList<BotCommand> For(bool forModerators) => commands
        .Where(c => c.Menu is not null && (forModerators || !c.ModeratorOnly))
        .Select(c => new BotCommand { Command = c.Name.TrimStart('/'), Description = c.Menu!.Summary })
        .ToList();

    /// <summary>The Telegram user ids among the configured moderators (private chats have the user's id).</summary>
    public IReadOnlyList<long> ModeratorChats() => moderators.People
        .Where(p => p.StartsWith("telegram:", StringComparison.Ordinal))
        .Select(p => long.TryParse(p["telegram:".Length..], out long id) ? id : 0)
        .Where(id => id > 0)
        .Order()
        .ToList();

    /// <summary>Sets both menus. A failure is logged and the bot runs on (the menu is a convenience; typed commands work without it).</summary>
    public async Task SetAsync(ITelegramBotClient client, ILogger log, CancellationToken ct)
    {
        try
        {
            await client.SetMyCommands(For(forModerators: false), cancellationToken: ct);
            var all = For(forModerators: true);
            foreach (long chat in ModeratorChats())
                await client.SetMyCommands(all, BotCommandScope.Chat(chat), cancellationToken: ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("Telegram setMyCommands failed ({Message}); the command menu may be out of date, typed commands still work", e.Message);
        }
    }
}
