namespace GanBertBots.Conversation;

/// <summary>The classes offered for labelling: the served detector's, or <c>Labels:Classes</c> while none is loaded.</summary>
public sealed class ClassChoices(IInferenceService inference, Labels labels, ILabelStore store)
{
    public Labels Labels => labels;
    public IReadOnlyList<string> Current => inference.DetectorClasses.Count > 0 ? inference.DetectorClasses : labels.Classes;
    public bool Contains(string? label) => label is not null && Current.Contains(label);

    /// <summary>
    /// Stores the class a button carries as the presser's label. A class not offered now (a forged or stale argument)
    /// is refused with <paramref name="refusal"/> and returns null; otherwise returns the class.
    /// </summary>
    public async Task<string?> LabelAsync(ButtonContext context, LabelSource source, string refusal, CancellationToken ct)
    {
        string? label = context.Action.Arg;
        if (!Contains(label))
        {
            await context.AcknowledgeAsync(refusal, ct);
            return null;
        }
        await store.AddLabelAsync(context.Label(label!, source), ct);
        return label;
    }

    /// <summary>Acknowledges the press and asks <paramref name="question"/> under it, with a <see cref="PickClassButton"/> per class.</summary>
    public async Task AskWhoWroteAsync(ButtonContext context, ReplyButtons buttons, string question, CancellationToken ct)
    {
        await context.AcknowledgeAsync(null, ct);
        var rows = buttons.ClassRows(Current, ButtonKind.PickClass, context.Text.Id, context.Chat);
        await context.Output.SendAsync(new Reply { Text = question, Buttons = rows, ReplyToMessageId = context.Press.MessageId }, ct);
    }
}
