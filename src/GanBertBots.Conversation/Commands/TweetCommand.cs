namespace GanBertBots.Conversation;

/// <summary>/tweet [topic]: a disaster-style tweet from the served generator, streamed into the chat.</summary>
public sealed class TweetCommand(TweetWriter writer) : Command("/tweet", "/tweet [keyword or prompt] - I write a disaster-style tweet")
{
    public override CommandMenuEntry Menu { get; } = new("Write a disaster-style tweet with our GPT-2",
        [new CommandParameter("prompt", "A keyword or how the tweet should start (optional)", MaxLength: 200)]);

    public override Task HandleAsync(CommandContext context, CancellationToken ct) =>
        writer.WriteAsync(context.User, context.Chat, context.Arguments, context.Output, context.Message.MessageId, ct);
}
