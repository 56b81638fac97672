namespace GanBertBots.Conversation;

/// <summary>
/// /detect TEXT (or /detect as a reply to a message): the detector's verdict. The text is stored before it is judged,
/// the verdict stored with it, and the answer carries "right"/"wrong" buttons for feedback ("I know who wrote it" where the
/// answer made no claim: can't tell, too short, no evidence, a detector that failed its gate) and "Why?" for the picture of how GPT-2 read it.
/// </summary>
public sealed class DetectCommand(SubmittedTexts submitted, BotOptions options, ClassChoices classes, ReplyButtons buttons, FileVerdicts files) : Command("/detect", "/detect TEXT - who wrote it: a person or which AI? (or reply /detect to a message)")
{
    public override CommandMenuEntry Menu { get; } = new("Real or fake? And which model wrote this text?",
        [new CommandParameter("text", "The text to check", MaxLength: 2000), new CommandParameter("file", "Or a .txt or .md file (up to 1 MB)", IsFile: true)]);

    public override async Task HandleAsync(CommandContext context, CancellationToken ct)
    {
        var message = context.Message;
        if (message.File is { } file && context.Arguments.Length == 0 && string.IsNullOrWhiteSpace(message.ReplyToText))
        {
            await files.JudgeAsync(context, file, ct);
            return;
        }
        string text = context.Arguments.Length > 0 ? context.Arguments : message.ReplyToText?.Trim() ?? "";
        if (text.Length == 0)
        {
            await context.ReplyAsync("Send /detect followed by a text, or reply /detect to a message with text.", ct);
            return;
        }
        string note = "";
        int original = text.Length;
        text = ChatText.CutInput(text, options.MaxInputChars, out bool cut);
        if (cut) note = $"(Your text had {original} characters; I read the first {text.Length}.)\n";
        if (LanguageCheck.Notice(text) is { } notEnglish) note += notEnglish + "\n";

        await context.Output.ShowTypingAsync(ct);
        var (id, verdict) = await submitted.KeepAndJudgeAsync(text, context, ct);
        if (!verdict.IsCompleted)
        {
            await context.ReplyAsync(note + verdict.Message, ct);
            return;
        }
        // "Right"/"Wrong" only where the answer claimed something; otherwise the person may say who wrote it.
        bool claims = VerdictText.Claims(verdict.Judgement);
        await context.Output.SendAsync(new Reply
        {
            Text = note + VerdictText.Format(verdict, classes.Labels.Human) + (claims ? "\nWas I right?" : "\nDo you know who wrote it?"),
            ReplyToMessageId = message.MessageId,
            Buttons = claims
                ? [[buttons.Make("✅ Right", ButtonKind.VerdictRight, id, context.Chat, verdict.Label),
                    buttons.Make("❌ Wrong", ButtonKind.VerdictWrong, id, context.Chat),
                    buttons.Make("🔍 Why?", ButtonKind.Why, id, context.Chat)]]
                : [[buttons.Make("🙋 I know who wrote it", ButtonKind.KnowWriter, id, context.Chat),
                    buttons.Make("🔍 Why?", ButtonKind.Why, id, context.Chat)]],
        }, ct);
    }
}
