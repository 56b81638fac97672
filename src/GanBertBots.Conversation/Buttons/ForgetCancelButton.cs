namespace GanBertBots.Conversation;

/// <summary>"Keep it" after /forget.</summary>
public sealed class ForgetCancelButton() : Button(ButtonKind.ForgetCancel, aboutText: false)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await context.AcknowledgeAsync(null, ct);
        await context.EditPressedMessageAsync("Nothing was deleted.", ct);
    }
}
