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
    Task HandleAsync(CommandContext context, CancellationToken cancellationToken);
}

/// <summary>A command with its name, help line and audience given once, in the constructor.</summary>
public abstract class Command(string name, string? help, bool moderatorOnly = false) : ICommand
{
    public string Name => name;
    public string? Help => help;
    public bool ModeratorOnly => moderatorOnly;
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
