using GanBertBots.Conversation;
using System.Text.Json.Nodes;

namespace GanBertBots.Bots.Discord.Interactions;

/// <summary>One option of a slash command (string options only: the bot takes text).</summary>
/// <param name="Type">3 = STRING (the default), 11 = ATTACHMENT (a file: not part of the command's text).</param>
public sealed record DiscordCommandOption(string Name, string Description, bool Required, int MaxLength, int Type = 3);

/// <summary>
/// One application command. <see cref="Core"/> is the conversation core's command it maps to (the message
/// context menu "Who wrote this?" maps to <c>detect</c>). Moderator-only commands are hidden from other members by
/// <c>default_member_permissions</c> = MANAGE_MESSAGES and checked again on every use; their answers are ephemeral.
/// </summary>
public sealed record DiscordCommand(string Name, ApplicationCommandType Type, string Description, string Core,
    bool ModeratorOnly = false, bool Ephemeral = false, IReadOnlyList<DiscordCommandOption>? Options = null);

/// <summary>
/// The commands this bot registers by bulk overwrite (<c>PUT /applications/{app}/commands</c>): one slash command for
/// every command of the conversation core that has a menu entry (<see cref="ICommand.Menu"/>: its summary, parameters as
/// options, private answers as ephemeral ones), plus the message context menu "Who wrote this?" (which runs detect).
/// A new command in the core appears here without a change to this adapter.
/// </summary>
public sealed class DiscordCommandCatalog
{
    public const string WhoWroteThis = "Who wrote this?";

    /// <param name="commands">The conversation core's commands, in /help order.</param>
    /// <param name="includeModelCommands">Also the commands that retrain or swap the models (<c>Discord:RegisterModelCommands</c>).</param>
    /// <param name="ephemeralVerdicts">"Who wrote this?" answers only the person who asked (<c>Discord:EphemeralVerdicts</c>).</param>
    public DiscordCommandCatalog(IEnumerable<ICommand> commands, bool includeModelCommands, bool ephemeralVerdicts = true)
    {
        var list = new List<DiscordCommand>();
        foreach (var command in commands)
        {
            if (command.Menu is not { } menu || (menu.OperatesModels && !includeModelCommands)) continue;
            string name = command.Name.TrimStart('/');
            list.Add(new DiscordCommand(name, ApplicationCommandType.ChatInput, menu.Summary, name, command.ModeratorOnly, menu.AnswersPrivately,
                menu.Parameters.Select(p => p.IsFile
                    ? new DiscordCommandOption(p.Name, p.Description, p.Required, 0, DiscordInteraction.AttachmentOption)
                    : new DiscordCommandOption(p.Name, p.Description, p.Required, p.MaxLength)).ToList()));
        }
        if (list.Any(c => c.Core == "detect"))
            list.Add(new DiscordCommand(WhoWroteThis, ApplicationCommandType.Message, "", "detect", Ephemeral: ephemeralVerdicts));
        Commands = list;
    }

    public IReadOnlyList<DiscordCommand> Commands { get; }

    public DiscordCommand? Find(string? name, ApplicationCommandType? type) =>
        Commands.FirstOrDefault(c => c.Name == name && c.Type == (type ?? ApplicationCommandType.ChatInput));

    /// <summary>The JSON array for the bulk overwrite (application command structure).</summary>
    public JsonArray ToJson()
    {
        var array = new JsonArray();
        foreach (var c in Commands)
        {
            var json = new JsonObject { ["name"] = c.Name, ["type"] = (int)c.Type };
            // Chat input commands need a 1-100 character description; context-menu commands take an empty one.
            json["description"] = c.Type == ApplicationCommandType.ChatInput ? c.Description : "";
            if (c.ModeratorOnly) json["default_member_permissions"] = DiscordInteraction.ManageMessages.ToString();
            if (c.Options is { Count: > 0 })
            {
                json["options"] = new JsonArray(c.Options.Select(o => (JsonNode)new JsonObject
                {
                    ["type"] = o.Type,
                    ["name"] = o.Name,
                    ["description"] = o.Description,
                    ["required"] = o.Required,
                }).ToArray());
                foreach (var (option, node) in c.Options.Zip(json["options"]!.AsArray()))
                    if (option.Type == 3 && option.MaxLength > 0) node!["max_length"] = option.MaxLength;
            }
            array.Add(json);
        }
        return array;
    }
}
