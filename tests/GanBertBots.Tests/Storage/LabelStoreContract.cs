using GanBertBots.Storage;
using Microsoft.Data.Sqlite;

namespace GanBertBots.Tests.Storage;

/// <summary>
/// What every label store must do. Each provider's class below inherits these tests and supplies a fresh database.
/// </summary>
public abstract class LabelStoreContract : IAsyncLifetime
{
    protected StorageOptions Options { get; private set; } = null!;
    protected ILabelStore Store { get; private set; } = null!;
    readonly List<ILabelStore> _opened = [];

    /// <summary>A fresh, empty database; options that point at it.</summary>
    protected abstract Task<StorageOptions> CreateDatabaseAsync();
    protected abstract Task DropDatabaseAsync();
    /// <summary>Runs SQL straight against the database, bypassing the store.</summary>
    protected abstract Task ExecuteRawAsync(string sql);

    public async Task InitializeAsync()
    {
        Options = await CreateDatabaseAsync();
        Store = await OpenAnotherAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var store in _opened) await store.DisposeAsync();
        await DropDatabaseAsync();
    }

    /// <summary>A second store on the same database, as another process or replica would have.</summary>
    protected async Task<ILabelStore> OpenAnotherAsync(StorageOptions? options = null)
    {
        var store = await LabelStore.OpenAsync(options ?? Options);
        _opened.Add(store);
        return store;
    }

    static readonly UserKey Alice = new("telegram", "1001");
    static readonly UserKey Bob = new("telegram", "1002");
    static readonly UserKey Mod = new("discord", "9001");
    static readonly UserKey OtherMod = new("telegram", "9002");

    async Task<long> TextAsync(string content, TextOrigin origin = TextOrigin.UserSubmitted) =>
        (await Store.AddTextAsync(new NewText(content, origin) { WrittenBy = origin == TextOrigin.Corpus ? "human" : null })).TextId;

    // ------------------------------------------------------------------ migrations

    [StoreFact]
    public async Task Migrations_are_recorded_once_and_can_run_again()
    {
        Assert.Equal(Schema.LatestVersion, await Store.MigrateAsync());
        Assert.Equal(Schema.LatestVersion, await Store.MigrateAsync());
        var second = await OpenAnotherAsync();
        Assert.Equal(Schema.LatestVersion, await second.MigrateAsync());
        var versions = await ((SqlLabelStore)Store).GetAppliedVersionsAsync();
        Assert.Equal(Schema.Migrations.Select(m => m.Version), versions);
    }

    [StoreFact]
    public async Task A_newer_schema_is_refused_with_a_clear_message()
    {
        await ExecuteRawAsync($"INSERT INTO schema_version (version, name, applied_at) VALUES ({Schema.LatestVersion + 7}, 'from the future', " +
                              (Store.Provider == "sqlite" ? "'2030-01-01T00:00:00.0000000Z'" : "now()") + ")");
        var e = await Assert.ThrowsAsync<StorageException>(() => LabelStore.OpenAsync(Options));
        Assert.Contains($"schema version {Schema.LatestVersion + 7}", e.Message);
        Assert.Contains("newer than this build", e.Message);
        Assert.Contains("refusing", e.Message);
    }

    // ------------------------------------------------------------------ texts

    [StoreFact]
    public async Task Texts_are_deduplicated_by_content_hash()
    {
        var first = await Store.AddTextAsync(new NewText("Forest fire near La Ronge Sask. Canada", TextOrigin.UserSubmitted));
        var again = await Store.AddTextAsync(new NewText("  Forest fire near La Ronge Sask. Canada\n", TextOrigin.Generated));
        var other = await Store.AddTextAsync(new NewText("Forest fire near La Ronge Sask. Canada!", TextOrigin.UserSubmitted));
        // "é" composed (U+00E9) and decomposed (e + U+0301) are one text.
        var composed = await Store.AddTextAsync(new NewText("Caf\u00e9 flooded", TextOrigin.UserSubmitted));
        var decomposed = await Store.AddTextAsync(new NewText("Cafe\u0301 flooded", TextOrigin.UserSubmitted));

        Assert.True(first.IsNew);
        Assert.Equal(new TextKept(first.TextId, false), again);
        Assert.True(other.IsNew);
        Assert.NotEqual(first.TextId, other.TextId);
        Assert.Equal(composed.TextId, decomposed.TextId);
        Assert.False(decomposed.IsNew);

        var stored = await Store.GetTextAsync(first.TextId);
        Assert.NotNull(stored);
        Assert.Equal("Forest fire near La Ronge Sask. Canada", stored.Content);
        Assert.Equal(TextOrigin.UserSubmitted, stored.Origin); // the first sighting decides
        Assert.Equal(ContentHash.Of(stored.Content), stored.ContentHash);
        Assert.Equal(first.TextId, (await Store.FindTextAsync(" Forest fire near La Ronge Sask. Canada "))?.Id);
        Assert.Null(await Store.FindTextAsync("never stored"));
        Assert.Null(await Store.GetTextAsync(987654));

        var batch = await Store.AddTextsAsync([
            new NewText("one", TextOrigin.Corpus), new NewText("two", TextOrigin.Corpus), new NewText("one", TextOrigin.Corpus),
            new NewText("Forest fire near La Ronge Sask. Canada", TextOrigin.Corpus)]);
        Assert.Equal(new TextsKept(2, 2), batch);
        var stats = await Store.GetStatsAsync();
        Assert.Equal(3, stats.TextsByOrigin[TextOrigin.UserSubmitted]);
        Assert.Equal(2, stats.TextsByOrigin[TextOrigin.Corpus]);
        Assert.Equal(0, stats.TextsByOrigin[TextOrigin.Generated]);
    }

    [StoreFact]
    public async Task A_generated_text_keeps_where_it_came_from()
    {
        const string settings = """{"temperature":0.9,"top_k":40,"prompt":"earthquake","seed":7}""";
        var kept = await Store.AddTextAsync(new NewText("Huge #earthquake shakes the bay area, stay safe", TextOrigin.Generated)
        {
            Message = new MessageRef("telegram", "-100123", "77"),
            SubmittedBy = Alice,
            ModelVersion = "gpt2-disaster-v3",
            GenerationSettingsJson = settings,
        });
        var corpus = await Store.AddTextAsync(new NewText("Our Deeds are the Reason of this #earthquake", TextOrigin.Corpus)
            { CorpusName = "train.csv", CorpusLabel = "1" });

        var text = await Store.GetTextAsync(kept.TextId);
        Assert.NotNull(text);
        Assert.Equal(TextOrigin.Generated, text.Origin);
        Assert.Equal(new MessageRef("telegram", "-100123", "77"), text.Message);
        Assert.Equal(Alice, text.SubmittedBy);
        Assert.Equal("gpt2-disaster-v3", text.ModelVersion);
        Assert.Equal(settings, text.GenerationSettingsJson);
        Assert.InRange(text.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.NotNull(await Store.GetUserAsync(Alice)); // the submitter is registered

        var c = await Store.GetTextAsync(corpus.TextId);
        Assert.Equal(("train.csv", "1", (MessageRef?)null), (c!.CorpusName, c.CorpusLabel, c.Message));
    }

    [StoreFact]
    public async Task Emoji_right_to_left_and_long_texts_round_trip_exactly()
    {
        string[] texts =
        [
            "🔥🌪️ Tornado warning!! 🚨 Stay inside 👨‍👩‍👧‍👦",
            "زلزال قوي يضرب المدينة الليلة",
            "רעידת אדמה חזקה בצפון",
            "line one\r\nline two\n\"quoted\" and 'single' \\ backslash ; DROP TABLE texts; --",
            new string('x', Options.MaxTextLength),
        ];
        foreach (string t in texts)
        {
            var kept = await Store.AddTextAsync(new NewText(t, TextOrigin.UserSubmitted));
            Assert.Equal(t, (await Store.GetTextAsync(kept.TextId))!.Content);
        }
    }

    [StoreFact]
    public async Task Bad_input_is_refused_clearly_and_nothing_is_written()
    {
        async Task Refused(Func<Task> act, string expected) =>
            Assert.Contains(expected, (await Assert.ThrowsAnyAsync<ArgumentException>(act)).Message);

        await Refused(() => Store.AddTextAsync(new NewText("", TextOrigin.UserSubmitted)), "empty");
        await Refused(() => Store.AddTextAsync(new NewText(" \n\t ", TextOrigin.UserSubmitted)), "empty");
        await Refused(() => Store.AddTextAsync(new NewText(new string('y', Options.MaxTextLength + 1), TextOrigin.UserSubmitted)), "at most");
        await Refused(() => Store.AddTextAsync(new NewText("nul\0inside", TextOrigin.UserSubmitted)), "NUL");
        await Refused(() => Store.AddTextAsync(new NewText("lone \ud800 surrogate", TextOrigin.UserSubmitted)), "Unicode");
        await Refused(() => Store.AddTextAsync(new NewText("ok", TextOrigin.Generated) { GenerationSettingsJson = "{temperature: 0.9" }), "JSON");
        await Refused(() => Store.AddTextsAsync([new NewText("fine", TextOrigin.Corpus), new NewText("", TextOrigin.Corpus)]), "empty");
        await Refused(() => Store.AddLabelAsync(new NewLabel(424242, Alice, UserRole.User, "human", LabelSource.UserFeedback, 0.5)), "text 424242 does not exist");

        long id = await TextAsync("a real text");
        await Refused(() => Store.AddLabelAsync(new NewLabel(id, Alice, UserRole.User, " ", LabelSource.UserFeedback, 0.5)), "class");
        await Refused(() => Store.AddLabelAsync(new NewLabel(id, Alice, UserRole.User, "human", LabelSource.UserFeedback, double.NaN)), "weight");
        await Refused(() => Store.AddLabelAsync(new NewLabel(id, new UserKey("", "1"), UserRole.User, "human", LabelSource.UserFeedback, 1)), "platform");
        await Refused(() => Store.AddPredictionAsync(new NewPrediction(id, "v1", "human", new Dictionary<string, double> { ["human"] = 1.5 })), "[0, 1]");
        await Refused(() => Store.RecordGameGuessAsync(new GameGuess(999999, Alice, "real", true)), "does not exist");

        var stats = await Store.GetStatsAsync();
        Assert.Equal(1, stats.TotalTexts); // "fine" from the refused batch was rolled back with it
        Assert.Equal(0, stats.TotalLabels);
        Assert.Equal(0, stats.Predictions);
        Assert.Null(await Store.GetUserAsync(Alice));
    }

    // ------------------------------------------------------------------ predictions and labels

    [StoreFact]
    public async Task Predictions_keep_model_version_label_and_probabilities()
    {
        long id = await TextAsync("Is this thing real?");
        var probabilities = new Dictionary<string, double> { ["human"] = 0.125, ["chatGPT"] = 0.75, ["gpt2"] = 0.125 };
        long p1 = await Store.AddPredictionAsync(new NewPrediction(id, "detector-v1", "chatGPT", probabilities));
        long p2 = await Store.AddPredictionAsync(new NewPrediction(id, "detector-v2", "human", new Dictionary<string, double> { ["human"] = 1 }));

        var predictions = await Store.GetPredictionsAsync(id);
        Assert.Equal([p1, p2], predictions.Select(p => p.Id));
        Assert.Equal(("detector-v1", "chatGPT"), (predictions[0].ModelVersion, predictions[0].Label));
        Assert.Equal(probabilities, predictions[0].Probabilities);
        Assert.Equal(2, (await Store.GetStatsAsync()).Predictions);
    }

    [StoreFact]
    public async Task Labels_record_who_role_class_source_and_weight_and_a_relabel_replaces()
    {
        long id = await TextAsync("Aftershock felt downtown");
        long first = await Store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1.0) { DisplayName = "Mia" });
        long feedback = await Store.AddLabelAsync(new NewLabel(id, Alice, UserRole.User, "gpt2", LabelSource.UserFeedback, 0.5));
        long relabel = await Store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "chatGPT", LabelSource.Moderator, 1.0));

        Assert.Equal(first, relabel);
        Assert.NotEqual(first, feedback);
        var labels = await Store.GetLabelsAsync(id);
        Assert.Equal(2, labels.Count);
        var mod = labels.Single(l => l.Source == LabelSource.Moderator);
        Assert.Equal((Mod, UserRole.Moderator, "chatGPT", 1.0), (mod.Who, mod.Role, mod.Class, mod.Weight));
        var user = labels.Single(l => l.Source == LabelSource.UserFeedback);
        Assert.Equal((Alice, UserRole.User, "gpt2", 0.5), (user.Who, user.Role, user.Class, user.Weight));
        Assert.Equal("Mia", (await Store.GetUserAsync(Mod))?.DisplayName);
    }

    [StoreFact]
    public async Task Export_gives_every_label_with_its_text_oldest_first_and_filters_by_source()
    {
        long a = await TextAsync("text A");
        long b = await TextAsync("text B", TextOrigin.Generated);
        await Store.AddLabelAsync(new NewLabel(a, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        await Store.AddLabelAsync(new NewLabel(b, Alice, UserRole.User, "gpt2", LabelSource.UserFeedback, 0.5));
        await Store.RecordGameGuessAsync(new GameGuess(b, Bob, "fake", true));

        var all = await Store.ExportLabelsAsync().ToListAsync();
        Assert.Equal([("text A", "human", LabelSource.Moderator), ("text B", "gpt2", LabelSource.UserFeedback), ("text B", "fake", LabelSource.GameGuess)],
            all.Select(l => (l.Text, l.Class, l.Source)));
        Assert.Equal((b, TextOrigin.Generated, Bob, 0.25), (all[2].TextId, all[2].Origin, all[2].Who, all[2].Weight));

        var human = await Store.ExportLabelsAsync([LabelSource.Moderator, LabelSource.UserFeedback]).ToListAsync();
        Assert.Equal(["human", "gpt2"], human.Select(l => l.Class));
    }

    // ------------------------------------------------------------------ review queue

    [StoreFact]
    public async Task Review_offers_unreviewed_texts_user_texts_first_and_honours_each_moderators_skips()
    {
        Assert.Null(await Store.GetNextForReviewAsync(Mod));
        long corpus = await TextAsync("corpus text", TextOrigin.Corpus);
        long generated = await TextAsync("generated text", TextOrigin.Generated);
        long user1 = await TextAsync("user text 1");
        long user2 = await TextAsync("user text 2");

        Assert.Equal(user1, (await Store.GetNextForReviewAsync(Mod))?.Id);
        // Feedback from an ordinary user does not take a text out of review; a moderator's label does.
        await Store.AddLabelAsync(new NewLabel(user1, Alice, UserRole.User, "human", LabelSource.UserFeedback, 0.5));
        Assert.Equal(user1, (await Store.GetNextForReviewAsync(Mod))?.Id);
        await Store.AddLabelAsync(new NewLabel(user1, OtherMod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        Assert.Equal(user2, (await Store.GetNextForReviewAsync(Mod))?.Id);

        await Store.SkipForReviewAsync(Mod, user2);
        await Store.SkipForReviewAsync(Mod, user2); // skipping twice is harmless
        Assert.Equal(generated, (await Store.GetNextForReviewAsync(Mod))?.Id);
        Assert.Equal(user2, (await Store.GetNextForReviewAsync(OtherMod))?.Id); // another moderator still sees it

        await Store.SkipForReviewAsync(Mod, generated);
        Assert.Equal(corpus, (await Store.GetNextForReviewAsync(Mod))?.Id);
        await Store.AddLabelAsync(new NewLabel(corpus, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        Assert.Null(await Store.GetNextForReviewAsync(Mod));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.SkipForReviewAsync(Mod, 31337));
    }

    // ------------------------------------------------------------------ game, users, stats, unlabelled pool

    [StoreFact]
    public async Task Random_text_comes_only_from_the_origin_asked_for_and_covers_it()
    {
        Assert.Null(await Store.GetRandomTextAsync(TextOrigin.Corpus));
        await TextAsync("user text");
        await TextAsync("generated text", TextOrigin.Generated);
        var corpus = new HashSet<long> { await TextAsync("real 1", TextOrigin.Corpus), await TextAsync("real 2", TextOrigin.Corpus), await TextAsync("real 3", TextOrigin.Corpus) };
        var seen = new HashSet<long>();
        for (int i = 0; i < 120; i++)
        {
            var t = await Store.GetRandomTextAsync(TextOrigin.Corpus);
            Assert.NotNull(t);
            Assert.Equal(TextOrigin.Corpus, t.Origin);
            seen.Add(t.Id);
        }
        Assert.Equal(corpus, seen); // P(missing one of 3 in 120 draws) < 1e-20
        Assert.Equal("generated text", (await Store.GetRandomTextAsync(TextOrigin.Generated))?.Content);
    }

    [StoreFact]
    public async Task Game_guesses_are_kept_as_labels_and_counted_per_player()
    {
        long real = await TextAsync("real tweet", TextOrigin.Corpus);
        long fake = await TextAsync("fake tweet", TextOrigin.Generated);
        Assert.Null(await Store.GetGameScoreAsync(Alice));

        await Store.RecordGameGuessAsync(new GameGuess(real, Alice, "real", true) { DisplayName = "alice" });
        await Store.RecordGameGuessAsync(new GameGuess(fake, Alice, "real", false));
        var score = await Store.RecordGameGuessAsync(new GameGuess(fake, Bob, "fake", true));
        Assert.Equal((1L, 1L), (score.Played, score.Correct));

        var alice = await Store.GetGameScoreAsync(Alice);
        Assert.Equal((Alice, "alice", 2L, 1L), (alice!.Player, alice.DisplayName, alice.Played, alice.Correct));
        var top = await Store.GetTopGameScoresAsync(10);
        Assert.Equal([Bob, Alice], top.Select(s => s.Player)); // 1 of 1 beats 1 of 2

        var guess = Assert.Single(await Store.GetLabelsAsync(real));
        Assert.Equal((LabelSource.GameGuess, "real", Alice, 0.25), (guess.Source, guess.Class, guess.Who, guess.Weight));
        var stats = await Store.GetStatsAsync();
        Assert.Equal(3, stats.LabelsFrom(LabelSource.GameGuess));
        Assert.Equal(2, stats.Labellers);
    }

    [StoreFact]
    public async Task Users_are_registered_once_and_keep_their_role_until_changed()
    {
        var created = await Store.UpsertUserAsync(Alice, "Alice");
        Assert.Equal(UserRole.User, created.Role);
        var promoted = await Store.UpsertUserAsync(Alice, null, UserRole.Moderator);
        Assert.Equal((created.Id, "Alice", UserRole.Moderator), (promoted.Id, promoted.DisplayName, promoted.Role));
        var renamed = await Store.UpsertUserAsync(Alice, "Alice B.");
        Assert.Equal((created.Id, "Alice B.", UserRole.Moderator), (renamed.Id, renamed.DisplayName, renamed.Role));
        await Store.UpsertUserAsync(Bob);
        await Store.UpsertUserAsync(new UserKey("discord", "1001")); // same id, other platform: another person

        Assert.Equal([Alice], (await Store.GetUsersInRoleAsync(UserRole.Moderator)).Select(u => u.Key));
        Assert.Equal(2, (await Store.GetUsersInRoleAsync(UserRole.User)).Count);
    }

    [StoreFact]
    public async Task Stats_count_labels_by_source_and_class_and_texts_by_origin()
    {
        long[] ids = [await TextAsync("u1"), await TextAsync("u2"), await TextAsync("g1", TextOrigin.Generated), await TextAsync("c1", TextOrigin.Corpus)];
        await Store.AddLabelAsync(new NewLabel(ids[0], Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        await Store.AddLabelAsync(new NewLabel(ids[1], Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        await Store.AddLabelAsync(new NewLabel(ids[2], Mod, UserRole.Moderator, "gpt2", LabelSource.Moderator, 1));
        await Store.AddLabelAsync(new NewLabel(ids[2], Alice, UserRole.User, "gpt2", LabelSource.UserFeedback, 0.5));

        var stats = await Store.GetStatsAsync();
        Assert.Equal([new LabelCount(LabelSource.Moderator, "gpt2", 1), new LabelCount(LabelSource.Moderator, "human", 2), new LabelCount(LabelSource.UserFeedback, "gpt2", 1)],
            stats.Labels.OrderBy(l => l.Source).ThenBy(l => l.Class, StringComparer.Ordinal));
        Assert.Equal((2L, 1L, 1L, 4L), (stats.TextsByOrigin[TextOrigin.UserSubmitted], stats.TextsByOrigin[TextOrigin.Generated], stats.TextsByOrigin[TextOrigin.Corpus], stats.TotalTexts));
        Assert.Equal((4L, 3L, 2L), (stats.TotalLabels, stats.LabelsFrom(LabelSource.Moderator), stats.Labellers));
    }

    [StoreFact]
    public async Task Unlabelled_pool_holds_user_texts_nobody_labelled_and_pages()
    {
        var user = new List<long>();
        for (int i = 0; i < 5; i++) user.Add(await TextAsync($"user text {i}"));
        await TextAsync("generated", TextOrigin.Generated);
        long corpus = await TextAsync("corpus", TextOrigin.Corpus);
        await Store.AddLabelAsync(new NewLabel(user[1], Alice, UserRole.User, "human", LabelSource.UserFeedback, 0.5));
        await Store.RecordGameGuessAsync(new GameGuess(user[3], Bob, "real", true));

        var page1 = await Store.GetUnlabelledTextsAsync(2);
        Assert.Equal([user[0], user[2]], page1.Select(t => t.Id));
        var page2 = await Store.GetUnlabelledTextsAsync(2, afterTextId: page1[^1].Id);
        Assert.Equal([user[4]], page2.Select(t => t.Id));
        var withCorpus = await Store.GetUnlabelledTextsAsync(10, origins: [TextOrigin.UserSubmitted, TextOrigin.Corpus]);
        Assert.Equal([user[0], user[2], user[4], corpus], withCorpus.Select(t => t.Id));
    }

    [StoreFact]
    public async Task Texts_of_one_origin_page_oldest_first_labelled_or_not()
    {
        var corpus = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            corpus.Add(await TextAsync($"corpus tweet {i}", TextOrigin.Corpus));
            await TextAsync($"user text {i}");
        }
        await TextAsync("generated", TextOrigin.Generated);
        await Store.AddLabelAsync(new NewLabel(corpus[1], Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        Assert.False((await Store.AddTextAsync(new NewText("corpus tweet 3", TextOrigin.UserSubmitted))).IsNew); // first sighting decides

        var page1 = await Store.GetTextsAsync(TextOrigin.Corpus, 3);
        Assert.Equal(corpus.Take(3), page1.Select(t => t.Id));
        Assert.Equal(["corpus tweet 0", "corpus tweet 1", "corpus tweet 2"], page1.Select(t => t.Content));
        Assert.All(page1, t => Assert.Equal(TextOrigin.Corpus, t.Origin));
        var page2 = await Store.GetTextsAsync(TextOrigin.Corpus, 3, afterTextId: page1[^1].Id);
        Assert.Equal(corpus.Skip(3), page2.Select(t => t.Id));
        Assert.Empty(await Store.GetTextsAsync(TextOrigin.Corpus, 3, afterTextId: page2[^1].Id));
        Assert.Equal(5, (await Store.GetTextsAsync(TextOrigin.UserSubmitted, 100)).Count);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetTextsAsync(TextOrigin.Corpus, 0));
    }

    // ------------------------------------------------------------------ durability and concurrency

    [StoreFact]
    public async Task A_label_written_is_there_for_a_store_opened_after_the_writer_died()
    {
        long id = await TextAsync("Flash flood warning for the valley");
        await Store.AddLabelAsync(new NewLabel(id, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));
        // The writer "dies": no dispose, no checkpoint, nothing more. A new store (another process) must see the label.
        var reopened = await OpenAnotherAsync();
        var label = Assert.Single(await reopened.GetLabelsAsync(id));
        Assert.Equal(("human", Mod), (label.Class, label.Who));
    }

    [StoreFact]
    public async Task Concurrent_writers_on_two_stores_lose_nothing()
    {
        var other = await OpenAnotherAsync();
        const int writers = 8, each = 15;
        long shared = await TextAsync("everyone labels this one");
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? Store : other;
            var who = new UserKey("telegram", $"writer{w}");
            for (int i = 0; i < each; i++)
            {
                var text = await store.AddTextAsync(new NewText($"writer {w} text {i}", TextOrigin.UserSubmitted));
                await store.AddLabelAsync(new NewLabel(text.TextId, who, UserRole.User, i % 2 == 0 ? "human" : "gpt2", LabelSource.UserFeedback, 0.5));
                await store.RecordGameGuessAsync(new GameGuess(text.TextId, who, "real", i % 3 == 0));
                await store.RecordGameGuessAsync(new GameGuess(shared, who, "real", true)); // counted on the first round only
            }
        })));

        var stats = await Store.GetStatsAsync();
        Assert.Equal(writers * each + 1, stats.TotalTexts);
        Assert.Equal(writers * each, stats.LabelsFrom(LabelSource.UserFeedback));
        Assert.Equal(writers * (each + 1), stats.LabelsFrom(LabelSource.GameGuess)); // one guess per player per text
        var scores = await Store.GetTopGameScoresAsync(100);
        Assert.Equal(writers, scores.Count);
        Assert.All(scores, s => Assert.Equal((each + 1L, 5L + 1), (s.Played, s.Correct)));
    }

    [StoreFact]
    public async Task Guesses_kept_before_migration_3_stay_counted_once()
    {
        long round = await TextAsync("an old round's tweet", TextOrigin.Corpus);
        await Store.RecordGameGuessAsync(new GameGuess(round, Alice, "human", true));
        // Back to schema 2: the guess is only a game_guess label and a score, as a store before the key kept it.
        await ExecuteRawAsync("DROP TABLE game_guesses");
        await ExecuteRawAsync("ALTER TABLE texts DROP COLUMN written_by");   // and migration 4, which came after
        await ExecuteRawAsync("DELETE FROM schema_version WHERE version >= 3");
        var upgraded = await OpenAnotherAsync(); // migrates to 3 (then 4), carrying the label over as a key
        var again = await upgraded.RecordGameGuessAsync(new GameGuess(round, Alice, "gpt2", false));
        Assert.Equal((true, 1L, 1L), (again.AlreadyCounted, again.Played, again.Correct));
        Assert.Equal("human", Assert.Single(await upgraded.GetLabelsAsync(round)).Class);
    }

    [StoreFact]
    public async Task A_guess_is_counted_once_per_player_and_round_even_from_two_replicas_at_once()
    {
        long round = await TextAsync("the round's tweet", TextOrigin.Corpus);
        long nextRound = await TextAsync("the next round's tweet", TextOrigin.Generated);
        var other = await OpenAnotherAsync();
        // The same person presses twice, the presses reaching two replicas (two stores on one database) at the same moment;
        // several such pairs, so that the inserts really race.
        const int presses = 4;
        using var start = new Barrier(presses);
        var results = await Task.WhenAll(Enumerable.Range(0, presses).Select(p => Task.Run(() =>
        {
            var store = p % 2 == 0 ? Store : other;
            start.SignalAndWait();
            return store.RecordGameGuessAsync(new GameGuess(round, Alice, p % 2 == 0 ? "human" : "gpt2", p % 2 == 0) { DisplayName = "alice" });
        })));

        var counted = Assert.Single(results, r => !r.AlreadyCounted);
        Assert.Equal(1L, counted.Played); // Correct is 1 or 0: whichever press won the race
        Assert.All(results.Where(r => r.AlreadyCounted), r => Assert.Equal(1L, r.Played)); // told the score as it stands
        var label = Assert.Single(await Store.GetLabelsAsync(round));
        Assert.Equal((LabelSource.GameGuess, Alice), (label.Source, label.Who));
        Assert.Equal(counted.Correct == 1 ? "human" : "gpt2", label.Class); // the counted guess's label, not a later press's
        var score = await other.GetGameScoreAsync(Alice);
        Assert.Equal((1L, counted.Correct, false), (score!.Played, score.Correct, score.AlreadyCounted));

        // A later press changes nothing; a different round still counts, and so does another player on the same round.
        Assert.True((await other.RecordGameGuessAsync(new GameGuess(round, Alice, "gpt2", false))).AlreadyCounted);
        var next = await other.RecordGameGuessAsync(new GameGuess(nextRound, Alice, "gpt2", true));
        Assert.Equal((false, 2L, counted.Correct + 1), (next.AlreadyCounted, next.Played, next.Correct));
        var bob = await Store.RecordGameGuessAsync(new GameGuess(round, Bob, "human", true));
        Assert.Equal((false, 1L, 1L), (bob.AlreadyCounted, bob.Played, bob.Correct));
        Assert.Equal(3, (await Store.GetStatsAsync()).LabelsFrom(LabelSource.GameGuess));
    }

    // ------------------------------------------------------------------ /top and streaks

    [StoreFact]
    public async Task Guesses_count_on_their_chat_board_and_streaks_end_at_a_wrong_guess()
    {
        var rounds = new List<long>();
        for (int i = 0; i < 5; i++) rounds.Add(await TextAsync($"round {i}", TextOrigin.Corpus));
        GameGuess Guess(int round, UserKey who, bool right, string chat) => new(rounds[round], who, "human", right) { Chat = chat, DisplayName = who.PlatformUserId };

        Assert.Equal(1, (await Store.RecordGameGuessAsync(Guess(0, Alice, true, "telegram:-1"))).Streak);
        Assert.Equal(2, (await Store.RecordGameGuessAsync(Guess(1, Alice, true, "telegram:-1"))).Streak);
        Assert.Equal(2, (await Store.RecordGameGuessAsync(Guess(1, Alice, false, "telegram:-1"))).Played);     // already counted
        Assert.Equal(0, (await Store.RecordGameGuessAsync(Guess(0, Bob, false, "telegram:-1"))).Streak);
        Assert.Equal(0, (await Store.RecordGameGuessAsync(Guess(2, Alice, false, "telegram:-2"))).Streak);     // a wrong one ends it
        Assert.Equal(1, (await Store.RecordGameGuessAsync(Guess(3, Alice, true, "telegram:-2"))).Streak);

        var here = await Store.GetChatLeaderboardAsync("telegram:-1", 10);
        Assert.Equal([(Alice, 2L, 2L), (Bob, 1L, 0L)], here.Select(s => (s.Player, s.Played, s.Correct)));
        var there = await Store.GetChatLeaderboardAsync("telegram:-2", 10);
        Assert.Equal([(Alice, 2L, 1L)], there.Select(s => (s.Player, s.Played, s.Correct)));
        Assert.Single(await Store.GetChatLeaderboardAsync("telegram:-1", 1));
        Assert.Empty(await Store.GetChatLeaderboardAsync("discord:7", 10));
    }

    [StoreFact]
    public async Task Random_corpus_texts_are_distinct_and_only_of_known_writers()
    {
        for (int i = 0; i < 12; i++) await TextAsync($"known {i}", TextOrigin.Corpus);
        await Store.AddTextAsync(new NewText("writer unknown", TextOrigin.Corpus));
        await TextAsync("a user's text");
        var drawn = await Store.GetRandomCorpusTextsAsync(8);
        Assert.Equal(8, drawn.Count);
        Assert.Equal(8, drawn.Select(t => t.Id).Distinct().Count());
        Assert.All(drawn, t => Assert.StartsWith("known", t.Content));
        Assert.Equal(12, (await Store.GetRandomCorpusTextsAsync(100)).Count);
    }

    // ------------------------------------------------------------------ /forget

    [StoreFact]
    public async Task Forgetting_a_person_deletes_their_texts_with_everything_said_about_them_and_their_labels_elsewhere_only()
    {
        NewLabel Label(long text, UserKey who, UserRole role, string cls, LabelSource source) => new(text, who, role, cls, source, 1.0);
        long theirs = (await Store.AddTextAsync(new NewText("Alice's pasted text", TextOrigin.UserSubmitted) { SubmittedBy = Alice })).TextId;
        long tweet = (await Store.AddTextAsync(new NewText("A tweet written for Alice", TextOrigin.Generated)
            { SubmittedBy = Alice, Message = new MessageRef("telegram", "1001", "7"), ModelVersion = "g1" })).TextId;
        long corpus = await TextAsync("A corpus text", TextOrigin.Corpus);
        long bobs = (await Store.AddTextAsync(new NewText("Bob's pasted text", TextOrigin.UserSubmitted) { SubmittedBy = Bob })).TextId;
        await Store.AddPredictionAsync(new NewPrediction(theirs, "d1", "human", new Dictionary<string, double> { ["human"] = 0.9 }));
        await Store.AddLabelAsync(Label(theirs, Alice, UserRole.User, "human", LabelSource.UserFeedback));
        await Store.AddLabelAsync(Label(theirs, Mod, UserRole.Moderator, "chatGPT", LabelSource.Moderator));    // about her text: goes with it
        await Store.AddLabelAsync(Label(corpus, Alice, UserRole.User, "human", LabelSource.UserFeedback));      // hers: goes
        await Store.AddLabelAsync(Label(corpus, Mod, UserRole.Moderator, "human", LabelSource.Moderator));      // not hers, not about hers: stays
        await Store.AddLabelAsync(Label(tweet, Bob, UserRole.User, "gpt2", LabelSource.UserFeedback));          // on a tweet written for her: stays
        await Store.AddLabelAsync(Label(bobs, Alice, UserRole.User, "human", LabelSource.UserFeedback));        // hers on Bob's text: goes
        await Store.RecordGameGuessAsync(new GameGuess(tweet, Alice, "gpt2", true));
        await Store.SkipForReviewAsync(Alice, corpus);

        var report = await Store.ForgetUserAsync(Alice);

        Assert.Equal(new ForgetReport(Texts: 1, Labels: 4, Guesses: 1), report); // 3 feedback labels + the guess's label
        Assert.Null(await Store.GetTextAsync(theirs));
        Assert.Empty(await Store.GetPredictionsAsync(theirs));
        Assert.Empty(await Store.GetLabelsAsync(theirs));
        Assert.Equal([Mod], (await Store.GetLabelsAsync(corpus)).Select(l => l.Who));
        Assert.Empty(await Store.GetLabelsAsync(bobs));
        Assert.Equal([Bob], (await Store.GetLabelsAsync(tweet)).Select(l => l.Who));
        var kept = await Store.GetTextAsync(tweet);
        Assert.NotNull(kept);
        Assert.Null(kept.SubmittedBy);                               // the tweet stays, without her
        Assert.Null(kept.Message?.ChatId);
        Assert.NotNull(await Store.GetTextAsync(bobs));
        Assert.Null(await Store.GetUserAsync(Alice));
        Assert.Null(await Store.GetGameScoreAsync(Alice));
        Assert.NotNull(await Store.GetUserAsync(Bob));
        Assert.Equal(new ForgetReport(0, 0, 0), await Store.ForgetUserAsync(Alice)); // again: nothing left
        // Bob can still give labels, Alice can come back as a new person.
        await Store.AddLabelAsync(Label(corpus, Alice, UserRole.User, "human", LabelSource.UserFeedback));
        Assert.Equal(2, (await Store.GetLabelsAsync(corpus)).Count);
    }

    [StoreFact]
    public async Task Retention_deletes_only_submitted_texts_older_than_the_cutoff_that_nobody_labelled()
    {
        long unlabelled = (await Store.AddTextAsync(new NewText("nobody judged this one", TextOrigin.UserSubmitted) { SubmittedBy = Alice })).TextId;
        long labelled = (await Store.AddTextAsync(new NewText("someone judged this one", TextOrigin.UserSubmitted) { SubmittedBy = Alice })).TextId;
        long generated = await TextAsync("a generated tweet", TextOrigin.Generated);
        long corpus = await TextAsync("a corpus tweet", TextOrigin.Corpus);
        await Store.AddPredictionAsync(new NewPrediction(unlabelled, "d1", "human", new Dictionary<string, double> { ["human"] = 1 }));
        await Store.AddLabelAsync(new NewLabel(labelled, Mod, UserRole.Moderator, "human", LabelSource.Moderator, 1));

        Assert.Equal(0, await Store.PurgeUnlabelledSubmittedTextsAsync(DateTimeOffset.UtcNow.AddHours(-1))); // all younger
        Assert.Equal(1, await Store.PurgeUnlabelledSubmittedTextsAsync(DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Null(await Store.GetTextAsync(unlabelled));
        Assert.Empty(await Store.GetPredictionsAsync(unlabelled));
        foreach (long kept in new[] { labelled, generated, corpus }) Assert.NotNull(await Store.GetTextAsync(kept));
        Assert.Equal(0, await Store.PurgeUnlabelledSubmittedTextsAsync(DateTimeOffset.UtcNow.AddHours(1)));
    }
}

public sealed class SqliteLabelStoreContractTests : LabelStoreContract
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), "ganbertbots-storage-" + Guid.NewGuid().ToString("N")[..12]);

    protected override Task<StorageOptions> CreateDatabaseAsync()
    {
        Directory.CreateDirectory(_folder);
        return Task.FromResult(new StorageOptions { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_folder, "labels.db")}" });
    }

    protected override Task DropDatabaseAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    protected override async Task ExecuteRawAsync(string sql)
    {
        await using var connection = new SqliteConnection(Options.ConnectionString + ";Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}

[UsesPostgres]
public sealed class PostgresLabelStoreContractTests : LabelStoreContract
{
    string _schema = "";

    protected override async Task<StorageOptions> CreateDatabaseAsync()
    {
        (_schema, string connectionString) = await PostgresTestServer.CreateSchemaAsync();
        return PostgresTestServer.Options(connectionString);
    }

    protected override Task DropDatabaseAsync() => PostgresTestServer.DropSchemaAsync(_schema);

    protected override Task ExecuteRawAsync(string sql) => PostgresTestServer.ExecuteAsync(Options.ConnectionString, sql);
}
