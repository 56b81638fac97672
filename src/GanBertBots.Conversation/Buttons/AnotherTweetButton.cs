namespace GanBertBots.Conversation;

/// <summary>"🔁 Another one" under a tweet: a new tweet on the same topic.</summary>
public sealed class AnotherTweetButton(TweetWriter writer) : Button(ButtonKind.AnotherTweet)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        await context.AcknowledgeAsync(null, ct);
        await writer.WriteAsync(context.User, context.Chat, TweetWriter.TopicOf(context.Text), context.Output, null, ct);
    }
}
