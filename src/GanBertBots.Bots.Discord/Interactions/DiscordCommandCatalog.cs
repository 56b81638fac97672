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

/// <summary>The commands this bot registers by bulk overwrite (<c>PUT /applications/{app}/commands</c>).</summary>
public sealed class DiscordCommandCatalog
{
    public const string WhoWroteThis = "Who wrote this?";

    /// <param name="ephemeralVerdicts">"Who wrote this?" answers only the person who asked (<c>Discord:EphemeralVerdicts</c>).</param>
    public DiscordCommandCatalog(bool includeModelCommands, bool ephemeralVerdicts = true)
    {
        var commands = new List<DiscordCommand>
        {
            new("tweet", ApplicationCommandType.ChatInput, "Write a disaster-style tweet with our GPT-2", "tweet",
                Options: [new("prompt", "How the tweet should start (optional)", false, 200)]),
            new("detect", ApplicationCommandType.ChatInput, "Real or fake? And which model wrote this text?", "detect",
                Options: [new("text", "The text to check", false, 2000), new("file", "Or a .txt or .md file (up to 1 MB)", false, 0, DiscordInteraction.AttachmentOption)]),
            new("game", ApplicationCommandType.ChatInput, "Play: spot the machine-written tweet", "game"),
            new("stats", ApplicationCommandType.ChatInput, "Detector and game statistics", "stats"),
            new("top", ApplicationCommandType.ChatInput, "The best real-or-fake guessers in this channel", "top"),
            new("help", ApplicationCommandType.ChatInput, "What this bot can do", "help", Ephemeral: true),
            new("privacy", ApplicationCommandType.ChatInput, "What this bot keeps about you", "privacy", Ephemeral: true),
            new("forget", ApplicationCommandType.ChatInput, "Delete the texts and labels you gave this bot (in a DM)", "forget", Ephemeral: true),
            new("review", ApplicationCommandType.ChatInput, "Moderators: label texts waiting for review", "review", ModeratorOnly: true, Ephemeral: true),
            new("mods", ApplicationCommandType.ChatInput, "Moderators: who moderates and what is pending", "mods", ModeratorOnly: true, Ephemeral: true),
            new(WhoWroteThis, ApplicationCommandType.Message, "", "detect", Ephemeral: ephemeralVerdicts),
        };
        if (includeModelCommands)
        {
            commands.Add(new("retrain", ApplicationCommandType.ChatInput, "Moderators: start an adversarial training round now", "retrain", ModeratorOnly: true, Ephemeral: true));
            commands.Add(new("promote", ApplicationCommandType.ChatInput, "Moderators: serve a trained model version", "promote", ModeratorOnly: true, Ephemeral: true,
                Options: [new("version", "Model version to promote", true, 64)]));
            commands.Add(new("rollback", ApplicationCommandType.ChatInput, "Moderators: go back to the previous model version", "rollback", ModeratorOnly: true, Ephemeral: true));
        }
        Commands = commands;
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
                    if (option.Type == 3) node!["max_length"] = option.MaxLength;
            }
            array.Add(json);
        }
        return array;
    }
}
