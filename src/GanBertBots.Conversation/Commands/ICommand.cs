namespace GanBertBots.Conversation;

/// <summary>
/// One chat command ("/tweet"). Each is a class under Commands/, registered by <see cref="ConversationServices"/>;
/// the <see cref="ConversationRouter"/> dispatches by <see cref="Name"/> after the rate limit and, for
/// <see cref="ModeratorOnly"/> commands, the moderator check. /help is generated from these.
/// </summary>
public interface ICommand
{
    /// <summary>"/tweet": lower case, with the slash.</summary>
    string Name { get; }
    /// <summary>The help line ("/tweet [keyword or prompt] - I write a disaster-style tweet"); null keeps the command out of /help.</summary>
    string? Help { get; }
    bool ModeratorOnly { get; }
    /// <summary>How platforms with a command menu offer it (Telegram's "/" list, Discord's slash commands); null = not offered.</summary>
    CommandMenuEntry? Menu { get; }
    Task HandleAsync(CommandContext context, CancellationToken cancellationToken);
}

/// <summary>
/// One value a command takes, for platforms whose menus have typed fields (Discord's options). Wherever people type,
/// the values are the words after the command, in this order.
/// </summary>
/// <param name="Name">lower case, no spaces ("text")</param>
/// <param name="Description">what goes there (at most 100 characters)</param>
/// <param name="MaxLength">the longest value in characters</param>
/// <param name="IsFile">a file instead of text (Discord's attachment option); it is not part of the command's words</param>
public sealed record CommandParameter(string Name, string Description, bool Required = false, int MaxLength = 0, bool IsFile = false);

/// <summary>How a command is offered in a platform's command menu.</summary>
/// <param name="Summary">one line, at most <see cref="MaxSummaryLength"/> characters</param>
/// <param name="AnswersPrivately">answered so that only the person who asked sees it, where the platform can (Discord's ephemeral answers)</param>
/// <param name="OperatesModels">retrains or swaps the served models: platforms may leave these out of their menus</param>
public sealed record CommandMenuEntry(string Summary, IReadOnlyList<CommandParameter> Parameters, bool AnswersPrivately = false, bool OperatesModels = false)
{
    /// <summary>The shortest limit of the platforms (Discord: 100; Telegram: 256).</summary>
    public const int MaxSummaryLength = 100;
}

/// <summary>A command with its name, help line and audience given once, in the constructor.</summary>
public abstract class Command(string name, string? help, bool moderatorOnly = false) : ICommand
{
    public string Name => name;
    public string? Help => help;
    public bool ModeratorOnly => moderatorOnly;

    /// <summary>
    /// By default: in the menu when it is in /help, summarised by the help line's words after " - " (first letter upper
    /// case), no parameters, answered privately when only moderators may use it. Commands override it to add parameters
    /// or say more.
    /// </summary>
    public virtual CommandMenuEntry? Menu => help is null ? null : new CommandMenuEntry(SummaryOf(help), [], AnswersPrivately: moderatorOnly);

    /// <summary>"/tweet [keyword] - I write a tweet" -> "I write a tweet".</summary>
    public static string SummaryOf(string help)
    {
        int dash = help.IndexOf(" - ", StringComparison.Ordinal);
        string summary = (dash >= 0 ? help[(dash + 3)..] : help).Trim();
        if (summary.Length > 0) summary = char.ToUpperInvariant(summary[0]) + summary[1..];
        return summary.Length <= CommandMenuEntry.MaxSummaryLength ? summary : summary[..(CommandMenuEntry.MaxSummaryLength - 1)] + "…";
    }

    public abstract Task HandleAsync(CommandContext context, CancellationToken cancellationToken);
}

/// <summary>What a command handler gets: the message, its arguments, where to answer, and the /help text for this person.</summary>
public sealed record CommandContext(IncomingMessage Message, CommandLine Command, IChatOutput Output, bool IsModerator, string HelpText)
{
    public ChatUser User => Message.User;
    public ChatPlace Chat => Message.Chat;
    public string Arguments => Command.Arguments;

    /// <summary>Answers the message with <paramref name="text"/> (clipped to the platform's message length).</summary>
    public Task ReplyAsync(string text, CancellationToken cancellationToken) =>
        Output.SendAsync(new Reply { Text = ChatText.Clip(text, Output.MaxMessageLength), ReplyToMessageId = Message.MessageId }, cancellationToken);
}
