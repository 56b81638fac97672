namespace GanBertBots.Conversation;

/// <summary>/tweet [topic]: a disaster-style tweet from the served generator, streamed into the chat.</summary>
public sealed class TweetCommand(TweetWriter writer) : Command("/tweet", "/tweet [keyword or prompt] - I write a disaster-style tweet")
{
    public override Task HandleAsync(CommandContext context, CancellationToken ct) =>
        writer.WriteAsync(context.User, context.Chat, context.Arguments, context.Output, context.Message.MessageId, ct);
}
