namespace GanBertBots.Conversation;

/// <summary>
/// "🙋 I know who wrote it" under an answer that made no claim (can't tell, too short, no evidence, a detector that failed its gate):
/// asks who did, with a <see cref="PickClassButton"/> per class. "Right"/"Wrong" would judge a claim that was never made.
/// </summary>
public sealed class KnowWriterButton(ClassChoices classes, ReplyButtons buttons) : Button(ButtonKind.KnowWriter)
{
    public override Task HandleAsync(ButtonContext context, CancellationToken ct) =>
        classes.AskWhoWroteAsync(context, buttons, "Who wrote it?", ct);
}
