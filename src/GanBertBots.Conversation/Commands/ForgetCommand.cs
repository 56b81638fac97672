namespace GanBertBots.Conversation;

/// <summary>/forget: asks to confirm deleting everything the person gave (<see cref="ForgetConfirmButton"/>). Private chats only.</summary>
public sealed class ForgetCommand(ReplyButtons buttons) : Command("/forget", "/forget - delete the texts and labels you gave me")
{
    public override CommandMenuEntry Menu { get; } = new("Delete the texts and labels you gave this bot", [], AnswersPrivately: true);

    public override Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        // A confirmation button in a group could be pressed by anyone, and it forgets whoever presses it.
        if (context.Chat.Kind == ChatKind.Group) return context.ReplyAsync("Send /forget to me in a private chat.", ct);
        return context.Output.SendAsync(new Reply
        {
            Text = "This deletes every text you sent me to judge (with its verdicts and everyone's labels on it), every label, " +
                   "game guess and score you gave, and your account here. Tweets I wrote for you stay, without your name. Sure?",
            ReplyToMessageId = context.Message.MessageId,
            Buttons = [[buttons.Make("🗑 Yes, forget me", ButtonKind.ForgetConfirm, 0, context.Chat), buttons.Make("Keep it", ButtonKind.ForgetCancel, 0, context.Chat)]],
        }, ct);
    }
}
