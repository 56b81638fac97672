namespace GanBertBots.Conversation;

/// <summary>
/// "🙋 I know who wrote it" under an answer that made no claim (can't tell, too short, no evidence, a detector that failed its gate):
/// asks who did, with a <see cref="PickClassButton"/> per class. "Right"/"Wrong" would judge a claim that was never made.
/// </summary>
public sealed class KnowWriterButton(ClassChoices classes, ReplyButtons buttons) : Button(ButtonKind.KnowWriter)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await context.AcknowledgeAsync(null, ct);
        var rows = buttons.ClassRows(classes.Current, ButtonKind.PickClass, context.Text.Id, context.Chat);
        await context.Output.SendAsync(new Reply { Text = "Who wrote it?", Buttons = rows, ReplyToMessageId = context.Press.MessageId }, ct);
    }
}
