namespace GanBertBots.Conversation;

/// <summary>How hard a /game round is: any, or chosen among corpus texts by how wrong the detector is about them.</summary>
public enum GameLevel { Any, Easy, Hard }

/// <summary>
/// Deals /game rounds: a corpus text whose writer the import knew (shown as real when a person wrote it, as fake when a
/// machine did) or a tweet from our generator (fake). Corpus texts of unknown writer are never shown. An easy or hard
/// round is the corpus text, among a few drawn at random, that the detector judges most rightly or most wrongly.
/// </summary>
public sealed class GameRounds(IInferenceService inference, ILabelStore store, BotOptions options, TweetWriter tweets, ReplyButtons buttons, Random random)
{
    /// <summary>How many corpus texts an easy or hard round chooses among.</summary>
    public const int LevelCandidates = 8;

    public async Task DealAsync(ChatUser user, ChatPlace chat, IChatOutput output, CancellationToken ct, GameLevel level = GameLevel.Any)
    {
        await output.ShowTypingAsync(ct);
        string note = "";
        StoredText? round = null;
        string? generatorProblem = null;
        if (level != GameLevel.Any) (round, note) = await ChooseByLevelAsync(level, ct);
        else
        {
            bool wantReal = random.NextDouble() < options.GameRealShare;
            if (wantReal) round = await store.GetRandomTextAsync(TextOrigin.Corpus, ct);
            if (round is null)
            {
                var tweet = await inference.GenerateAsync(new TweetRequest(null), null, ct);
                if (tweet.IsCompleted) round = await store.GetTextAsync(await tweets.KeepAsync(tweet, "", user, chat, ct), ct);
                else generatorProblem = tweet.Message;
            }
            if (round is null && !wantReal) round = await store.GetRandomTextAsync(TextOrigin.Corpus, ct);
        }
        if (round is null)
        {
            await output.SendAsync(Reply.Plain((level == GameLevel.Any ? "The game needs real tweets or the generator, and I have neither right now. "
                    : "Easy and hard rounds are chosen among imported texts, and there are none yet. ") +
                "Import real tweets with `ganbertbots import-corpus FILE`." + (generatorProblem is null ? "" : " " + generatorProblem)), ct);
            return;
        }
        string word = level.ToString().ToLowerInvariant();
        string heading = level == GameLevel.Any ? "🎲 Real or fake?" : $"🎲 Real or fake? ({word})";
        // The guess buttons carry the level ("real-hard"), so that "next round" deals the same kind of round.
        string Arg(string guess) => level == GameLevel.Any ? guess : $"{guess}-{word}";
        await output.SendAsync(new Reply
        {
            Text = note + heading + " Did a person write this tweet?\n\n" + ChatText.Clip(round.Content, 1000),
            Buttons = [[buttons.Make("🧑 Real", ButtonKind.GameGuess, round.Id, chat, Arg("real")), buttons.Make("🤖 Fake", ButtonKind.GameGuess, round.Id, chat, Arg("fake"))]],
        }, ct);
    }

    async Task<(StoredText? Round, string Note)> ChooseByLevelAsync(GameLevel level, CancellationToken ct)
    {
        var candidates = await store.GetRandomCorpusTextsAsync(LevelCandidates, ct);
        if (candidates.Count == 0) return (null, "");
        var verdicts = await Task.WhenAll(candidates.Select(t => inference.DetectAsync(t.Content, ct)));
        if (verdicts.Any(v => !v.IsCompleted || double.IsNaN(v.RealProbability)))
            return (candidates[0], "(Easy and hard rounds need the detector, which cannot judge right now: this one is of any difficulty.)\n");
        // How wrong the detector is about a text: the distance between its P(person) and the truth (1 for a person's text).
        double Miss(int i) => Math.Abs((candidates[i].IsHumanCorpusText ? 1.0 : 0.0) - verdicts[i].RealProbability);
        var byMiss = Enumerable.Range(0, candidates.Count).OrderBy(Miss).ToList();
        return (candidates[level == GameLevel.Hard ? byMiss[^1] : byMiss[0]], "");
    }
}
