namespace GanBertBots.Conversation;

/// <summary>
/// What one kind of button does when pressed. Each is a class under Buttons/, registered by
/// <see cref="ConversationServices"/>; the <see cref="ConversationRouter"/> checks the payload's signature and age,
/// the rate limit and, for <see cref="ModeratorOnly"/> kinds, the moderator, and loads the text the button is about.
/// </summary>
public interface IButton
{
    ButtonKind Kind { get; }
    bool ModeratorOnly { get; }
    /// <summary>False for a button about the person rather than a stored text (its payload's text id is 0).</summary>
    bool AboutText { get; }
    Task HandleAsync(ButtonContext context, CancellationToken cancellationToken);
}

/// <summary>A button handler with its kind and audience given once, in the constructor.</summary>
public abstract class Button(ButtonKind kind, bool moderatorOnly = false, bool aboutText = true) : IButton
{
    public ButtonKind Kind => kind;
    public bool ModeratorOnly => moderatorOnly;
    public bool AboutText => aboutText;
    public abstract Task HandleAsync(ButtonContext context, CancellationToken cancellationToken);
}

/// <summary>What a button handler gets: the press, its decoded action, the stored text it is about, and where to answer.</summary>
public sealed record ButtonContext(ButtonPress Press, ButtonAction Action, StoredText? Subject, IChatOutput Output, bool IsModerator)
{
    /// <summary>The stored text the button is about (every button whose handler is <see cref="IButton.AboutText"/>).</summary>
    public StoredText Text => Subject ?? throw new InvalidOperationException($"a {Action.Kind} button is not about a text");

    public ChatUser User => Press.User;
    public ChatPlace Chat => Press.Chat;

    /// <summary>The label this person gives the text, weighted by its source.</summary>
    public NewLabel Label(string label, LabelSource source) =>
        new(Text.Id, User.Key, IsModerator ? UserRole.Moderator : UserRole.User, label, source, NewLabel.DefaultWeight(source)) { DisplayName = User.DisplayName };

    public Task AcknowledgeAsync(string? notice, CancellationToken cancellationToken) => Output.AcknowledgeButtonAsync(notice, cancellationToken);

    /// <summary>Replaces the message that carried the button (when the platform said which one it was).</summary>
    public Task EditPressedMessageAsync(string text, CancellationToken cancellationToken) =>
        Press.MessageId is null ? Task.CompletedTask : Output.EditAsync(new SentReply(Chat.ChatId, Press.MessageId), Reply.Plain(text), cancellationToken);
}
