using Microsoft.Extensions.Logging;

namespace GanBertBots.Conversation;

/// <summary>"🗑 Yes, forget me" after /forget: deletes what the presser gave and says how much; logged without content.</summary>
public sealed class ForgetConfirmButton(ILabelStore store, ILogger<ForgetConfirmButton> log) : Button(ButtonKind.ForgetConfirm, aboutText: false)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        var forgotten = await store.ForgetUserAsync(context.User.Key, ct);
        log.LogInformation("A {Platform} user was forgotten: {Texts} texts, {Labels} labels, {Guesses} game guesses deleted",
            context.User.Platform, forgotten.Texts, forgotten.Labels, forgotten.Guesses);
        await context.AcknowledgeAsync("Done.", ct);
        await context.EditPressedMessageAsync($"Forgotten: {forgotten.Texts} texts, {forgotten.Labels} labels ({forgotten.Guesses} of them game guesses) " +
                                              "and your account. Nothing of yours is left here.", ct);
    }
}
