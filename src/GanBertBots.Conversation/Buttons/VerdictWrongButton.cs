namespace GanBertBots.Conversation;

/// <summary>"❌ Wrong" under a verdict: asks who wrote it, with a <see cref="PickClassButton"/> per class.</summary>
public sealed class VerdictWrongButton(ClassChoices classes, ReplyButtons buttons) : Button(ButtonKind.VerdictWrong)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await context.AcknowledgeAsync(null, ct);
        var rows = buttons.ClassRows(classes.Current, ButtonKind.PickClass, context.Text.Id, context.Chat);
        await context.Output.SendAsync(new Reply { Text = "Who wrote it, then?", Buttons = rows, ReplyToMessageId = context.Press.MessageId }, ct);
    }
}
