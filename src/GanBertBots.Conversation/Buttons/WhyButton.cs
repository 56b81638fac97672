namespace GanBertBots.Conversation;

/// <summary>
/// "🔍 Why?" under a verdict: the stored text scored token by token by the served GPT-2 (<see cref="IInferenceService.ExplainAsync"/>)
/// and sent as the <see cref="WhyPicture"/>, with a caption saying how to read it; a short sentence instead when the
/// evidence could not be computed (no GPT-2 served, busy, shutting down).
/// </summary>
public sealed class WhyButton(IInferenceService inference) : Button(ButtonKind.Why)
{
    public const string FileName = "why.png";
    public const string CannotExplain = "I can't show why for this text right now.";
    public const string Caption =
        "Why? Each word is coloured by how high GPT-2 ranked it among its guesses: green top 10, yellow top 100, red top 1000, " +
        "purple beyond. Machine-written text is mostly green; people surprise GPT-2 more often. The bars say how machine-made each sentence reads.";

    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await context.AcknowledgeAsync(null, ct);
        await context.Output.ShowTypingAsync(ct);
        var evidence = await inference.ExplainAsync(context.Text.Content, ct);
        if (!evidence.IsCompleted)
        {
            string why = string.IsNullOrWhiteSpace(evidence.Message) ? "" : " " + evidence.Message;
            await context.Output.SendAsync(new Reply { Text = CannotExplain + why, ReplyToMessageId = context.Press.MessageId }, ct);
            return;
        }
        var picture = WhyPicture.Render(evidence);
        string cut = picture.Cut ? $" Only the first {picture.TokensShown} of {evidence.Tokens.Count} tokens are shown." : "";
        await context.Output.SendAsync(new Reply
        {
            Text = Caption + cut,
            Image = new ReplyImage(picture.Png, FileName),
            ReplyToMessageId = context.Press.MessageId,
        }, ct);
    }
}
