namespace GanBertBots.Conversation;

/// <summary>/help: the commands this person may use (the router writes the list from the registered commands).</summary>
public sealed class HelpCommand() : Command("/help", "/help - this list")
{
    public override CommandMenuEntry Menu { get; } = new("What this bot can do", [], AnswersPrivately: true);

    public override Task HandleAsync(CommandContext context, CancellationToken ct) => context.ReplyAsync(context.HelpText, ct);
}
