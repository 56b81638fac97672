namespace GanBertBots.Conversation;

/// <summary>/privacy: what is stored about a person, why, and how to take it back.</summary>
public sealed class PrivacyCommand() : Command("/privacy", "/privacy - what I keep about you")
{
    public override CommandMenuEntry Menu { get; } = new("What this bot keeps about you", [], AnswersPrivately: true);

    public const string Text =
        "What I keep:\n" +
        "- texts you send me to judge (/detect, or pasted in a private chat), with my verdict, the chat and message they came from;\n" +
        "- tweets I write for you, with the topic you gave;\n" +
        "- your feedback, game guesses and score, and your name as the platform shows it.\n" +
        "Why: labelled texts train the next detector and generator; nothing is shared outside this service.\n" +
        "How long: until you send /forget (or the operator's retention limit, if one is set).\n" +
        "/forget deletes your texts (and what anyone said about them), your labels, guesses and score; tweets I wrote for you stay without your name.";

    public override Task HandleAsync(CommandContext context, CancellationToken ct) => context.ReplyAsync(Text, ct);
}
