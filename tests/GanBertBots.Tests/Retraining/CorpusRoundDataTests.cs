using System.Security.Cryptography;
using System.Text;
using GanBertBots.Storage;
using GanBertBots.Training.Rounds;

namespace GanBertBots.Tests.Retraining;

/// <summary>The round's data with the imported corpus: real tweets as human labels, on the same side of the split every time.</summary>
public sealed class CorpusRoundDataTests : IAsyncLifetime
{
    readonly Hub.ScratchDirectory _dir = new();
    ILabelStore _store = null!;
    static readonly UserKey Mod = new("telegram", "9001");
    static readonly UserKey Player = new("telegram", "1001");

    public async Task InitializeAsync() => _store = await OpenStoreAsync("store");

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    Task<ILabelStore> OpenStoreAsync(string name) =>
        LabelStore.OpenAsync(new StorageOptions { DataDirectory = Path.Combine(_dir.Path, name) });

    static readonly string[] Corpus = Enumerable.Range(0, 40).Select(i => (i % 4) switch
    {
        0 => $"Forest fire near the ridge, crews on site #{i}",
        1 => $"#earthquake felt downtown this morning {i}",
        2 => $"Oil spill off the coast, beaches closed ({i})",
        _ => $"The firefighters were amazing today {i}",
    }).ToArray();

    // An independent reading of the split and the selection: SHA-256 of the UTF-8 text, bytes 0..8 and 8..16 as little-endian integers.
    static ulong Word(string text, int word) => BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(text)), word * 8);
    static bool HeldOut(string text, double fraction) => Word(text, 0) / Math.Pow(2, 64) < fraction;

    async Task ImportAsync(ILabelStore store, IEnumerable<string> texts) =>
        await store.AddTextsAsync(texts.Select(t => new NewText(t, TextOrigin.Corpus) { CorpusName = "test.csv", CorpusLabel = "1", WrittenBy = "human" }).ToList());

    [Fact]
    public async Task Corpus_texts_are_human_labels_on_their_hash_side_and_moderator_labels_win_over_them()
    {
        await ImportAsync(_store, Corpus);
        long userText = (await _store.AddTextAsync(new NewText("a user asked about this flood", TextOrigin.UserSubmitted))).TextId;
        await _store.AddLabelAsync(new NewLabel(userText, Mod, UserRole.Moderator, "gpt2", LabelSource.Moderator, 1));
        long moderated = (await _store.FindTextAsync(Corpus[5]))!.Id;
        await _store.AddLabelAsync(new NewLabel(moderated, Mod, UserRole.Moderator, "chatGPT", LabelSource.Moderator, 1));
        long guessed = (await _store.FindTextAsync(Corpus[6]))!.Id;
        await _store.RecordGameGuessAsync(new GameGuess(guessed, Player, "gpt2", Correct: false));
        await _store.AddTextAsync(new NewText("nobody labelled this user text", TextOrigin.UserSubmitted));

        var corpus = new CorpusTweets(_store, 0.2, max: 1000, "human", weight: 0.75);
        var data = await new LabelStoreRoundData(_store, 0.2, maxUnlabelled: 100, corpus).LoadAsync(CancellationToken.None);

        var all = data.Labelled.Select(t => (t, HeldOut: false)).Concat(data.HeldOut.Select(t => (t, HeldOut: true))).ToList();
        Assert.All(all, x => Assert.Equal(HeldOut(x.t.Text, 0.2), x.HeldOut));
        var fromCorpus = all.Where(x => x.t.Source == LabelStoreRoundData.CorpusSource).ToList();
        Assert.Equal(Corpus.Except([Corpus[5]]).Order(StringComparer.Ordinal), fromCorpus.Select(x => x.t.Text).Order(StringComparer.Ordinal));
        Assert.All(fromCorpus, x => Assert.Equal(("human", 0.75), (x.t.Class, x.t.Weight)));
        Assert.Contains(fromCorpus, x => x.HeldOut);
        Assert.Contains(fromCorpus, x => !x.HeldOut);

        // The moderator's word replaces the corpus class; the player's wrong guess on a real tweet is left out.
        var moderatorsWord = Assert.Single(all, x => x.t.Text == Corpus[5]).t;
        Assert.Equal(("chatGPT", "moderator"), (moderatorsWord.Class, moderatorsWord.Source));
        var guessedTweet = Assert.Single(all, x => x.t.Text == Corpus[6]).t;
        Assert.Equal(("human", "corpus"), (guessedTweet.Class, guessedTweet.Source));
        Assert.Equal("gpt2", Assert.Single(all, x => x.t.Text == "a user asked about this flood").t.Class);
        Assert.Equal(["nobody labelled this user text"], data.Unlabelled);

        // Without a corpus the round sees only people's labels, the game guess included (as before).
        var plain = await new LabelStoreRoundData(_store, 0.2, 100).LoadAsync(CancellationToken.None);
        Assert.DoesNotContain(plain.Labelled.Concat(plain.HeldOut), t => t.Source == LabelStoreRoundData.CorpusSource);
        Assert.Equal(3, plain.Labelled.Count + plain.HeldOut.Count);
    }

    [Fact]
    public async Task The_cap_takes_the_same_texts_whatever_the_import_order_and_they_split_like_all_texts()
    {
        await ImportAsync(_store, Corpus);
        await using var reversed = await OpenStoreAsync("reversed");
        await ImportAsync(reversed, Corpus.Reverse());

        var a = await new CorpusTweets(_store, 0.2, max: 10).SelectAsync(CancellationToken.None);
        var b = await new CorpusTweets(reversed, 0.2, max: 10).SelectAsync(CancellationToken.None);
        var expected = Corpus.OrderBy(t => Word(t, 1)).Take(10).ToList();
        Assert.Equal(expected, a);
        Assert.Equal(expected, b);
        Assert.Empty(await new CorpusTweets(_store, 0.2, max: 0).SelectAsync(CancellationToken.None));

        var data = await new LabelStoreRoundData(_store, 0.2, 0, new CorpusTweets(_store, 0.2, max: 10)).LoadAsync(CancellationToken.None);
        Assert.Equal(expected.Order(StringComparer.Ordinal), data.Labelled.Concat(data.HeldOut).Select(t => t.Text).Order(StringComparer.Ordinal));
        Assert.Equal(expected.Where(t => HeldOut(t, 0.2)).Order(StringComparer.Ordinal), data.HeldOut.Select(t => t.Text).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Real_tweets_for_the_generator_split_like_the_detector_data_with_the_first_keyword_each_contains()
    {
        await ImportAsync(_store, Corpus);
        var corpus = new CorpusTweets(_store, 0.3, max: 1000);
        var real = await corpus.LoadRealTweetsAsync(["earthquake", "fire", "oil%20spill"], CancellationToken.None);
        Assert.Equal(Corpus.Where(t => !HeldOut(t, 0.3)).Order(StringComparer.Ordinal), real.Train.Select(e => e.Text).Order(StringComparer.Ordinal));
        Assert.Equal(Corpus.Where(t => HeldOut(t, 0.3)).Order(StringComparer.Ordinal), real.HeldOut.Select(e => e.Text).Order(StringComparer.Ordinal));

        var keywordOf = real.Train.Concat(real.HeldOut).ToDictionary(e => e.Text, e => e.Keyword);
        Assert.Equal("fire", keywordOf[Corpus[0]]);          // "Forest fire near the ridge"
        Assert.Equal("earthquake", keywordOf[Corpus[1]]);    // "#earthquake felt downtown"
        Assert.Equal("oil%20spill", keywordOf[Corpus[2]]);   // "Oil spill off the coast": case and %20 for the space
        Assert.Null(keywordOf[Corpus[3]]);                   // "firefighters" is not the word "fire"

        var finder = new CorpusTweets.KeywordFinder(["fire", "earthquake"]);
        Assert.Equal("fire", finder.KeywordOf("earthquake then a fire"));   // keyword order, not text order
    }
}
