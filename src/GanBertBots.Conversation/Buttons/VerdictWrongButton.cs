namespace GanBertBots.Conversation;

/// <summary>"❌ Wrong" under a verdict: asks who wrote it, with a <see cref="PickClassButton"/> per class.</summary>
public sealed class VerdictWrongButton(ClassChoices classes, ReplyButtons buttons) : Button(ButtonKind.VerdictWrong)
{
    public override Task HandleAsync(ButtonContext context, CancellationToken ct) =>
        classes.AskWhoWroteAsync(context, buttons, "Who wrote it, then?", ct);
}
