using Microsoft.Extensions.Logging;

namespace GanBertBots.Conversation;

/// <summary>
/// The conversation core as adapters see it: routes each message to its <see cref="ICommand"/> and each button press
/// to its <see cref="IButton"/>, after the checks every one of them needs, done once here: the per-person rate limit,
/// the moderator policy, the button's signature and age. An unexpected failure is logged with a reference and
/// apologised for, never thrown at the adapter.
/// </summary>
public sealed class ConversationRouter : IConversation
{
    readonly Dictionary<string, ICommand> _commands;
    readonly Dictionary<ButtonKind, IButton> _buttons;
    readonly ButtonCheck _check;
    readonly ModeratorPolicy _moderators;
    readonly ChatRateLimit _rate;
    readonly ILabelStore _store;
    readonly bool _autoDetect;
    readonly ILogger _log;
    readonly string _publicHelp, _moderatorHelp;

    public ConversationRouter(IEnumerable<ICommand> commands, IEnumerable<IButton> buttons, ButtonCheck check, ModeratorPolicy moderators,
        ChatRateLimit rate, ILabelStore store, BotOptions options, ILogger<ConversationRouter> log)
    {
        _autoDetect = options.AutoDetectPrivateText;
        var list = commands.ToList();
        _commands = list.ToDictionary(c => c.Name);
        _buttons = buttons.ToDictionary(b => b.Kind);
        (_check, _moderators, _rate, _store, _log) = (check, moderators, rate, store, log);
        _publicHelp = string.Join('\n', list.Where(c => !c.ModeratorOnly && c.Help != null).Select(c => c.Help));
        _moderatorHelp = _publicHelp + "\n\nModerators:\n" + string.Join('\n', list.Where(c => c.ModeratorOnly && c.Help != null).Select(c => c.Help));
    }

    public Task HandleMessageAsync(IncomingMessage message, IChatOutput output, CancellationToken ct) =>
        GuardAsync("Message", message.User, message.Chat, () => RouteAsync(message, output, ct),
            reference => output.SendAsync(Reply.Plain($"Sorry, something went wrong on my side (ref {reference}). Please try again later."), ct), ct);

    public Task HandleButtonAsync(ButtonPress press, IChatOutput output, CancellationToken ct) =>
        GuardAsync("Button press", press.User, press.Chat, () => RouteAsync(press, output, ct),
            reference => output.AcknowledgeButtonAsync($"Sorry, something went wrong (ref {reference}).", ct), ct);

    async Task RouteAsync(IncomingMessage message, IChatOutput output, CancellationToken ct)
    {
        bool moderator = _moderators.IsModerator(message);
        string help = moderator ? _moderatorHelp : _publicHelp;
        var line = CommandLine.Parse(message.Text);
        // In groups the bot only answers commands; in a private chat other text is judged (or, when that is off, helped).
        if (line is null && message.Chat.Kind == ChatKind.Group) return;
        if (line is null && _autoDetect && !string.IsNullOrWhiteSpace(message.Text)) line = new CommandLine("/detect", null, message.Text.Trim());
        if (line is null && _autoDetect && message.File is not null) line = new CommandLine("/detect", null, ""); // a file sent to judge
        var context = new CommandContext(message, line ?? new CommandLine("", null, ""), output, moderator, help);
        if (line is null)
        {
            string intro = string.IsNullOrWhiteSpace(message.Text) ? (message.HasNonTextContent ? "I can only read text." : "That message was empty.") : "I answer commands.";
            await context.ReplyAsync(intro + "\n\n" + help, ct);
            return;
        }
        if (!moderator && !_rate.TryTake(message.User.QualifiedId, out var wait))
            await context.ReplyAsync($"You're sending commands faster than I can answer; please wait {Math.Ceiling(wait.TotalSeconds):0} s.", ct);
        else if (!_commands.TryGetValue(line.Name, out var command))
            await context.ReplyAsync($"I don't know {ChatText.Clip(line.Name, 40)}.\n\n" + help, ct);
        else if (command.ModeratorOnly && !moderator)
        {
            LogRefusal(command.Name, message.User, message.Chat);
            await context.ReplyAsync(ButtonCheck.ModeratorsOnly, ct);
        }
        else await command.HandleAsync(context, ct);
    }

    async Task RouteAsync(ButtonPress press, IChatOutput output, CancellationToken ct)
    {
        var outcome = _check.Check(press);
        if (!outcome.Accepted && outcome.Refusal != ButtonCheck.ModeratorsOnly)
        {
            _log.LogWarning("Refused a {Problem} button payload from {User} in {Chat}", outcome.Problem, press.User.QualifiedId, press.Chat.QualifiedId);
            await output.AcknowledgeButtonAsync(outcome.Refusal, ct);
            return;
        }
        if (!outcome.IsModerator && !_rate.TryTake(press.User.QualifiedId, out var wait))
        {
            await output.AcknowledgeButtonAsync($"Too fast; please wait {Math.Ceiling(wait.TotalSeconds):0} s.", ct);
            return;
        }
        if (!outcome.Accepted)
        {
            LogRefusal(outcome.Problem!, press.User, press.Chat);
            await output.AcknowledgeButtonAsync(outcome.Refusal, ct);
            return;
        }
        var action = outcome.Action!;
        var button = _buttons[action.Kind];
        var text = button.AboutText ? await _store.GetTextAsync(action.TextId, ct) : null;
        if (button.AboutText && text is null) await output.AcknowledgeButtonAsync("That text is no longer known.", ct);
        else await button.HandleAsync(new ButtonContext(press, action, text, output, outcome.IsModerator), ct);
    }

    /// <summary>For metrics: the registered command <paramref name="text"/> runs, "other" for an unknown one, "text" for no command.</summary>
    public string CommandOf(string? text) => CommandLine.Parse(text) is not { } line ? "text" : _commands.ContainsKey(line.Name) ? line.Name : "other";

    void LogRefusal(string action, ChatUser user, ChatPlace chat) =>
        _log.LogWarning("Refused moderator action {Action} by {User} ({Name}) in {Chat}", action, user.QualifiedId, user.DisplayName, chat.QualifiedId);

    async Task GuardAsync(string what, ChatUser user, ChatPlace chat, Func<Task> handle, Func<string, Task> apologise, CancellationToken ct)
    {
        try
        {
            await handle();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            string reference = Guid.NewGuid().ToString("N")[..8];
            _log.LogError(e, "{What} from {User} in {Chat} failed (ref {Ref})", what, user.QualifiedId, chat.QualifiedId, reference);
            try { await apologise(reference); }
            catch (Exception reply) when (reply is not OperationCanceledException) { _log.LogWarning(reply, "Could not send the apology (ref {Ref})", reference); }
        }
    }
}
