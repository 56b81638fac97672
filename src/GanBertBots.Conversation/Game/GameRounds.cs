namespace GanBertBots.Conversation;

/// <summary>
/// Deals /game rounds: a corpus text whose writer the import knew (shown as real when a person wrote it, as fake when a
/// machine did) or a tweet from our generator (fake). Corpus texts of unknown writer are never shown.
/// </summary>
public sealed class GameRounds(IInferenceService inference, ILabelStore store, BotOptions options, TweetWriter tweets, ReplyButtons buttons, Random random)
{
    public async Task DealAsync(ChatUser user, ChatPlace chat, IChatOutput output, CancellationToken ct)
    {
        await output.ShowTypingAsync(ct);
        bool wantReal = random.NextDouble() < options.GameRealShare;
        StoredText? round = null;
        string? generatorProblem = null;
        if (wantReal) round = await store.GetRandomTextAsync(TextOrigin.Corpus, ct);
        if (round is null)
        {
            var tweet = await inference.GenerateAsync(new TweetRequest(null), null, ct);
            if (tweet.IsCompleted) round = await store.GetTextAsync(await tweets.KeepAsync(tweet, "", user, chat, ct), ct);
            else generatorProblem = tweet.Message;
        }
        if (round is null && !wantReal) round = await store.GetRandomTextAsync(TextOrigin.Corpus, ct);
        if (round is null)
        {
            await output.SendAsync(Reply.Plain("The game needs real tweets or the generator, and I have neither right now. " +
                "Import real tweets with `ganbertbots import-corpus FILE`." + (generatorProblem is null ? "" : " " + generatorProblem)), ct);
            return;
        }
        await output.SendAsync(new Reply
        {
            Text = "🎲 Real or fake? Did a person write this tweet?\n\n" + ChatText.Clip(round.Content, 1000),
            Buttons = [[buttons.Make("🧑 Real", ButtonKind.GameGuess, round.Id, chat, "real"), buttons.Make("🤖 Fake", ButtonKind.GameGuess, round.Id, chat, "fake")]],
        }, ct);
    }
}
