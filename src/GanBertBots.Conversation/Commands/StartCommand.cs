namespace GanBertBots.Conversation;

/// <summary>/start: what the bot is, and the commands.</summary>
public sealed class StartCommand() : Command("/start", null)
{
    public override Task HandleAsync(CommandContext context, CancellationToken ct) =>
        context.ReplyAsync("Hi! I write disaster tweets and I try to tell who wrote a text: a person or an AI.\n\n" + context.HelpText, ct);
}
