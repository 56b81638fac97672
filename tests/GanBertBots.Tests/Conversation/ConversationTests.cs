using GanBertBots.Conversation;
using GanBertBots.Inference;
using GanBertBots.Storage;
using GanBertBots.Storage.Corpus;
using GanBertBots.Tests.Support;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Tests.Bots;

public sealed class ConversationTests : IAsyncLifetime
{
    const string Secret = "conversation-test-secret-0123456789";
    static readonly ChatUser Alice = new("test", "alice", "Alice");
    static readonly ChatUser Mod = new("test", "mod", "Moe");
    static readonly ChatPlace AlicePrivate = new("test", "alice-dm", ChatKind.Private);
    static readonly ChatPlace Group = new("test", "group-1", ChatKind.Group);

    readonly FakeTweetModel _generator = new();
    readonly FakeDetectorModel _detector = new();
    readonly InferenceService _inference;
    TempLabelStore _temp = null!;
    ILabelStore _store = null!;
    readonly ListLogger _log = new();
    BotOptions _options = new() { Moderators = ["test:mod"], CallbackSecret = Secret, Burst = 100, MessagesPerMinute = 600 };
    TestConversation? _bot;

    public ConversationTests()
    {
        _inference = new InferenceService(new InferenceOptions { Generation = { MaxWaitMs = 0 }, Detection = { MaxWaitMs = 0 } }, _generator, _detector);
    }

    public async Task InitializeAsync()
    {
        _temp = await TempLabelStore.OpenAsync();
        _store = _temp.Store;
    }

    public async Task DisposeAsync()
    {
        _inference.Dispose();
        await _temp.DisposeAsync();
    }

    TestConversation Bot => _bot ??= new TestConversation(_inference, _store, _options, logger: _log, random: new Random(1));

    static IncomingMessage Msg(string? text, ChatUser? user = null, ChatPlace? chat = null, string? replyTo = null, bool admin = false, bool nonText = false) => new()
    {
        User = user ?? Alice, Chat = chat ?? AlicePrivate, Text = text, MessageId = "m1", ReplyToText = replyTo, IsChatAdmin = admin, HasNonTextContent = nonText,
    };

    static ButtonPress Press(ReplyButton button, ChatUser? user = null, ChatPlace? chat = null, string? messageId = "101", bool admin = false) => new()
    {
        User = user ?? Alice, Chat = chat ?? AlicePrivate, Payload = button.Payload, MessageId = messageId, IsChatAdmin = admin,
    };

    async Task<RecordingChatOutput> Say(string? text, ChatUser? user = null, ChatPlace? chat = null, string? replyTo = null, bool admin = false, bool nonText = false, RecordingChatOutput? output = null)
    {
        output ??= new RecordingChatOutput((chat ?? AlicePrivate).ChatId);
        await Bot.HandleMessageAsync(Msg(text, user, chat, replyTo, admin, nonText), output, CancellationToken.None);
        return output;
    }

    static ReplyButton ButtonNamed(Reply reply, string label) => reply.Buttons.SelectMany(r => r).Single(b => b.Label.Contains(label));

    [Fact]
    public async Task Help_lists_the_commands_and_shows_moderator_commands_to_moderators_only()
    {
        var user = await Say("/help");
        Assert.Contains("/tweet", user.Last.Text);
        Assert.Contains("/detect", user.Last.Text);
        Assert.DoesNotContain("/review", user.Last.Text);
        var mod = await Say("/start", Mod);
        Assert.Contains("/review", mod.Last.Text);
    }

    [Fact]
    public async Task Tweet_streams_into_a_placeholder_then_stores_the_tweet_and_offers_buttons()
    {
        var output = await Say("/tweet earthquake");
        Assert.Equal(1, output.Typing);
        Assert.Single(output.Sent);
        Assert.Contains("earthquake", output.Sent[0].Text);
        var final = output.Last;
        Assert.StartsWith(FakeTweetModel.TweetFor("earthquake"), final.Text);
        Assert.Contains(_generator.ModelVersion, final.Text);
        var stored = Assert.Single(await _temp.TextsAsync());
        Assert.Equal(TextOrigin.Generated, stored.Origin);
        Assert.Contains("\"Topic\":\"earthquake\"", stored.GenerationSettingsJson);
        Assert.Contains("\"Temperature\"", stored.GenerationSettingsJson);
        Assert.Equal(_generator.ModelVersion, stored.ModelVersion);
        Assert.Equal(FakeTweetModel.TweetFor("earthquake"), stored.Content);
        Assert.Equal(new UserKey("test", "alice"), stored.SubmittedBy);
        Assert.Equal(3, final.Buttons.SelectMany(r => r).Count());
        Assert.Equal(["earthquake"], _generator.Batches.Single());
    }

    [Fact]
    public async Task Streaming_edits_show_growing_text_and_are_throttled_to_the_platform_interval()
    {
        // Five words over about 400 ms against a 100 ms edit interval: several edits must fall inside the stream.
        _generator.WordDelay = TimeSpan.FromMilliseconds(80);
        var interval = TimeSpan.FromMilliseconds(100);
        var output = new RecordingChatOutput(editInterval: interval);
        var started = DateTime.UtcNow;
        await Say("/tweet flood", output: output);
        var elapsed = DateTime.UtcNow - started;
        var partial = output.Edits.Where(e => e.Reply.Text.EndsWith('▌')).Select(e => e.Reply.Text).ToList();
        Assert.NotEmpty(partial);
        Assert.All(partial, p => Assert.StartsWith("Breaking:", p));
        Assert.True(partial.Count <= elapsed / interval + 1, $"{partial.Count} edits in {elapsed.TotalMilliseconds} ms");
        Assert.Equal(partial.Count, partial.Distinct().Count()); // never the same text twice
        Assert.StartsWith(FakeTweetModel.TweetFor("flood"), output.Last.Text);
    }

    [Fact]
    public async Task Another_one_reuses_the_topic_and_feedback_is_stored_before_it_is_acknowledged()
    {
        var output = await Say("/tweet wildfire");
        var final = output.Last;
        int labelsAtAck = -1;
        output.BeforeAck = async () => labelsAtAck = (await _temp.LabelsAsync()).Count;
        await Bot.HandleButtonAsync(Press(ButtonNamed(final, "Fooled")), output, default);
        Assert.Equal(1, labelsAtAck); // committed before the user was told
        var label = Assert.Single(await _temp.LabelsAsync());
        Assert.Equal(("human", LabelSource.UserFeedback, new UserKey("test", "alice")), (label.Class, label.Source, label.Who));
        // The same person changes their mind: the latest judgement replaces the first.
        await Bot.HandleButtonAsync(Press(ButtonNamed(final, "Obviously")), output, default);
        Assert.Equal("gpt2", Assert.Single(await _temp.LabelsAsync()).Class);

        await Bot.HandleButtonAsync(Press(ButtonNamed(final, "Another")), output, default);
        Assert.Equal(["wildfire"], _generator.Batches.Last());
    }

    [Fact]
    public async Task Detect_answers_label_bar_chart_verdict_and_version_and_stores_text_and_prediction()
    {
        const string text = "Forest fire near La Ronge Sask. Canada";
        var output = await Say("/detect " + text);
        var reply = output.Last.Text;
        string expected = FakeDetectorModel.LabelFor(text);
        // The fake detector's P(person) is 0.8 for human and 0.2 otherwise; it has no calibration, and says so.
        Assert.Equal(expected == "human" ? "Verdict: likely written by a person - person 80% (raw detector score)"
            : "Verdict: likely machine-written - person 20% (raw detector score)", reply.Split('\n')[0]);
        Assert.Equal(expected == "human" ? "Most likely writer: a person - 70%" : $"Most likely writer: a machine ({expected}) - 70%", reply.Split('\n')[1]);
        Assert.Contains("███████░░░", reply); // 70% bar of the top class
        Assert.Contains("Track record: never measured on texts it did not train on\nModel: fake-ganbert-v1", reply.ReplaceLineEndings("\n"));
        var stored = Assert.Single(await _temp.TextsAsync());
        Assert.Equal((text, TextOrigin.UserSubmitted), (stored.Content, stored.Origin));
        var prediction = Assert.Single(await _store.GetPredictionsAsync(stored.Id));
        Assert.Equal((expected, "fake-ganbert-v1", 0.7), (prediction.Label, prediction.ModelVersion, prediction.Probabilities[expected]));
        Assert.Equal([text], _detector.Batches.Single());
    }

    [Fact]
    public async Task Detect_as_a_reply_judges_the_replied_message()
    {
        await Say("/detect", replyTo: "Our deeds are the reason of this #earthquake");
        Assert.Equal(["Our deeds are the reason of this #earthquake"], _detector.Batches.Single());
    }

    [Fact]
    public async Task Detect_without_text_explains_itself_and_stores_nothing()
    {
        var output = await Say("/detect   ");
        Assert.Contains("followed by a text", output.Last.Text);
        Assert.Empty(await _temp.TextsAsync());
        Assert.Empty(_detector.Batches);
    }

    [Fact]
    public async Task A_huge_text_is_cut_and_the_user_is_told()
    {
        string huge = string.Concat(Enumerable.Repeat("fire! ", 2000))[..10_000];
        var output = await Say("/detect " + huge);
        Assert.Contains("10000 characters; I read the first 2000", output.Last.Text);
        Assert.Equal(2000, _detector.Batches.Single().Single().Length);
    }

    [Fact]
    public async Task Cutting_never_splits_an_emoji()
    {
        _options.MaxInputChars = 5;
        var output = await Say("/detect abcd🔥🔥"); // the 5th char is the first half of the emoji
        Assert.Equal("abcd", _detector.Batches.Single().Single());
        Assert.Contains("I read the first 4", output.Last.Text);
    }

    [Fact]
    public async Task Emoji_and_right_to_left_texts_go_through_unchanged()
    {
        const string text = "🔥🌊 حريق كبير في المدينة 🚒 שריפה";
        await Say("/detect " + text);
        Assert.Equal(text, _detector.Batches.Single().Single());
        Assert.Equal(text, Assert.Single(await _temp.TextsAsync()).Content);
    }

    [Fact]
    public async Task An_answer_that_claims_nothing_asks_who_wrote_it_instead_of_was_i_right()
    {
        _detector.PersonProbability = 0.5; // "can't tell"
        var output = await Say("/detect The sky is falling");
        var answer = output.Last;
        Assert.Contains("Verdict: can't tell - person 50%", answer.Text);
        Assert.EndsWith("Do you know who wrote it?", answer.Text);
        Assert.Equal(["🙋 I know who wrote it", "🔍 Why?"], answer.Buttons.SelectMany(r => r).Select(b => b.Label));

        await Bot.HandleButtonAsync(Press(ButtonNamed(answer, "I know who wrote it")), output, default);
        var picker = output.Sent.Last();
        Assert.Equal("Who wrote it?", picker.Text);
        Assert.Equal(FakeDetectorModel.ClassNames, picker.Buttons.SelectMany(r => r).Select(b => b.Label));
        await Bot.HandleButtonAsync(Press(ButtonNamed(picker, "human"), messageId: "778"), output, default);
        var label = Assert.Single(await _temp.LabelsAsync());
        Assert.Equal(("human", LabelSource.UserFeedback), (label.Class, label.Source));
    }

    [Fact]
    public async Task Right_stores_the_predicted_class_and_wrong_asks_for_the_class()
    {
        const string text = "The sky is falling";
        var output = await Say("/detect " + text);
        var verdict = output.Last;
        await Bot.HandleButtonAsync(Press(ButtonNamed(verdict, "Right")), output, default);
        Assert.Equal(FakeDetectorModel.LabelFor(text), Assert.Single(await _temp.LabelsAsync()).Class);

        var bob = new ChatUser("test", "bob", "Bob");
        await Bot.HandleButtonAsync(Press(ButtonNamed(verdict, "Wrong"), bob), output, default);
        var picker = output.Sent.Last();
        Assert.Contains("Who wrote it", picker.Text);
        Assert.Equal(FakeDetectorModel.ClassNames, picker.Buttons.SelectMany(r => r).Select(b => b.Label));
        await Bot.HandleButtonAsync(Press(ButtonNamed(picker, "dolly"), bob, messageId: "777"), output, default);
        var bobs = (await _temp.LabelsAsync()).Single(l => l.Who.PlatformUserId == "bob");
        Assert.Equal(("dolly", LabelSource.UserFeedback, UserRole.User), (bobs.Class, bobs.Source, bobs.Role));
        Assert.Contains("dolly", output.Messages["777"].Text);
    }

    [Fact]
    public async Task A_forged_callback_is_refused_and_stores_nothing()
    {
        var output = await Say("/detect some text");
        var right = ButtonNamed(output.Last, "Right");
        var forged = right with { Payload = right.Payload[..^3] + (right.Payload[^3] == 'A' ? "BBB" : "AAA") };
        await Bot.HandleButtonAsync(Press(forged), output, default);
        Assert.Equal("That button is not valid here.", output.Acks.Last());
        await Bot.HandleButtonAsync(Press(right, chat: Group), output, default); // replayed from another chat
        Assert.Equal("That button is not valid here.", output.Acks.Last());
        await Bot.HandleButtonAsync(Press(new ReplyButton("x", "not-a-payload")), output, default);
        Assert.Empty(await _temp.LabelsAsync());
        Assert.Contains(_log.Lines, l => l.Contains("BadSignature"));
    }

    [Fact]
    public async Task A_non_moderator_cannot_review_or_press_review_buttons_and_the_attempt_is_logged()
    {
        await Say("/detect please label me");
        var refused = await Say("/review");
        Assert.Equal("Sorry, only moderators can do that.", refused.Last.Text);
        Assert.Contains(_log.Lines, l => l.Contains("/review") && l.Contains("test:alice"));

        // A moderator's review message in a group; Alice presses its label button.
        var review = await Say("/review", Mod, Group);
        var button = ButtonNamed(review.Last, "human");
        await Bot.HandleButtonAsync(Press(button, Alice, Group), review, default);
        Assert.Equal("Sorry, only moderators can do that.", review.Acks.Last());
        Assert.Empty(await _temp.LabelsAsync());
    }

    [Fact]
    public async Task A_moderator_labels_through_review_then_gets_the_next_text_and_can_skip()
    {
        await Say("/detect first text");
        await Say("/detect second text");
        await Say("/detect third text");
        var output = await Say("/review", Mod);
        Assert.Contains("first text", output.Last.Text);
        Assert.Contains("Skip", output.Last.Buttons.Last().Single().Label);
        await Bot.HandleButtonAsync(Press(ButtonNamed(output.Last, "cohere"), Mod, messageId: "r1"), output, default);
        var label = Assert.Single(await _temp.LabelsAsync());
        Assert.Equal(("first text", "cohere", LabelSource.Moderator, UserRole.Moderator), (label.Text, label.Class, label.Source, label.Role));
        Assert.Contains("second text", output.Last.Text);
        await Bot.HandleButtonAsync(Press(ButtonNamed(output.Last, "Skip"), Mod), output, default);
        Assert.Contains("third text", output.Last.Text);
        await Bot.HandleButtonAsync(Press(ButtonNamed(output.Last, "Skip"), Mod), output, default);
        Assert.Contains("Nothing left", output.Last.Text);
    }

    [Fact]
    public async Task Chat_admins_moderate_in_their_group_but_not_in_private()
    {
        var group = await Say("/mods", Alice, Group, admin: true);
        Assert.Contains("test:mod", group.Last.Text);
        Assert.Contains("Admins of this chat", group.Last.Text);
        var dm = await Say("/mods", Alice, AlicePrivate, admin: true);
        Assert.Equal("Sorry, only moderators can do that.", dm.Last.Text);
    }

    [Fact]
    public async Task Game_shows_a_corpus_tweet_scores_guesses_and_refuses_a_second_guess()
    {
        _options.GameRealShare = 1;
        await _store.AddTextAsync(new NewText("Just happened a terrible car crash", TextOrigin.Corpus) { CorpusName = "disaster-tweets", CorpusLabel = "1", WrittenBy = "human" });
        var output = await Say("/game");
        Assert.Contains("terrible car crash", output.Last.Text);
        await Bot.HandleButtonAsync(Press(ButtonNamed(output.Last, "Real")), output, default);
        Assert.Contains("Right", output.Last.Text);
        Assert.Contains("score: 1/1", output.Last.Text);
        Assert.DoesNotContain("in a row", output.Last.Text);                 // one right guess is no streak yet
        Assert.Contains("1. Alice - 1/1 right", (await Say("/top")).Last.Text);
        Assert.Contains("Nobody has played", (await Say("/top", chat: Group)).Last.Text);
        var guess = Assert.Single(await _temp.LabelsAsync());
        Assert.Equal(("human", LabelSource.GameGuess), (guess.Class, guess.Source));
        var roundMessage = output.Sent.First(s => s.Text.Contains("Real or fake"));
        await Bot.HandleButtonAsync(Press(ButtonNamed(roundMessage, "Fake")), output, default);
        Assert.Equal("You already guessed this one.", output.Acks.Last());
        Assert.Single(await _temp.LabelsAsync());
        Assert.Equal(1, (await _store.GetGameScoreAsync(new UserKey("test", "alice")))!.Played);
    }

    [Fact]
    public async Task Hard_and_easy_rounds_are_the_texts_the_detector_judges_most_wrongly_and_most_rightly()
    {
        // The fake detector calls a text of length 7k "human" (P(person) 0.8) and anything else a machine's (0.2).
        const string easy = "Flood in town!";              // 14 characters: judged a person's, rightly
        const string hard = "Wildfire near the school";    // 24: judged a machine's, wrongly
        foreach (var t in new[] { easy, hard })
            await _store.AddTextAsync(new NewText(t, TextOrigin.Corpus) { CorpusName = "disaster-tweets", WrittenBy = "human" });
        var hardRound = await Say("/game hard");
        Assert.Contains("(hard)", hardRound.Last.Text);
        Assert.Contains(hard, hardRound.Last.Text);
        Assert.Contains(easy, (await Say("/game EASY")).Last.Text);
        Assert.Contains("/game easy or /game hard", (await Say("/game impossible")).Last.Text);

        // The next round after a hard one is hard again.
        await Bot.HandleButtonAsync(Press(ButtonNamed(hardRound.Last, "Fake")), hardRound, default);
        Assert.Contains("❌ Wrong", hardRound.Last.Text);
        await Bot.HandleButtonAsync(Press(ButtonNamed(hardRound.Last, "Next")), hardRound, default);
        Assert.Contains("(hard)", hardRound.Last.Text);
        Assert.Contains(hard, hardRound.Last.Text);
    }

    [Fact]
    public async Task Game_guess_pressed_on_two_replicas_at_once_counts_once()
    {
        _options.GameRealShare = 1;
        await _store.AddTextAsync(new NewText("Wildfire near the highway", TextOrigin.Corpus) { WrittenBy = "human" });
        var round = (await Say("/game")).Last;
        // A second replica: its own service and its own store on the same database, the same callback secret.
        await using var otherStore = await LabelStore.OpenAsync(new StorageOptions { DataDirectory = _temp.Folder });
        var other = new TestConversation(_inference, otherStore, _options, random: new Random(2));
        var (here, there) = (new RecordingChatOutput(AlicePrivate.ChatId), new RecordingChatOutput(AlicePrivate.ChatId));
        await Task.WhenAll(
            Task.Run(() => Bot.HandleButtonAsync(Press(ButtonNamed(round, "Real")), here, default)),
            Task.Run(() => other.HandleButtonAsync(Press(ButtonNamed(round, "Fake")), there, default)));

        var acks = here.Acks.Concat(there.Acks).ToList();
        Assert.Equal(2, acks.Count);
        Assert.Single(acks, a => a == "You already guessed this one.");
        Assert.Single(acks, a => a is "Right!" or "Wrong!");
        Assert.Single(here.Sent.Concat(there.Sent), r => r.Text.Contains("Your score:"));
        Assert.Single(await _temp.LabelsAsync());
        Assert.Equal(1, (await _store.GetGameScoreAsync(new UserKey("test", "alice")))!.Played);
    }

    [Fact]
    public async Task Game_with_a_generated_tweet_counts_fake_as_right()
    {
        _options.GameRealShare = 0;
        var output = await Say("/game");
        Assert.Contains(FakeTweetModel.TweetFor(null), output.Last.Text);
        await Bot.HandleButtonAsync(Press(ButtonNamed(output.Last, "Real")), output, default);
        Assert.Contains("Wrong", output.Last.Text);
        Assert.Contains("score: 0/1", output.Last.Text);
        await Bot.HandleButtonAsync(Press(ButtonNamed(output.Last, "Next")), output, default);
        Assert.Contains("Real or fake", output.Last.Text);
    }

    [Fact]
    public async Task Stats_shows_counts_versions_and_score()
    {
        await Say("/detect x y z");
        var output = await Say("/stats");
        Assert.Contains("Texts kept: 1 (1 from users, 0 generated, 0 corpus)", output.Last.Text);
        Assert.Contains("Detector: fake-ganbert-v1", output.Last.Text);
        Assert.Contains("Generator: fake-gpt2-v1", output.Last.Text);
        Assert.Contains("Last evaluation: none yet", output.Last.Text);
        Assert.Contains("from 0 people", output.Last.Text);
    }

    [Fact]
    public async Task Stats_says_one_person_not_one_people()
    {
        var detect = await Say("/detect a flood took the bridge");
        await Bot.HandleButtonAsync(Press(ButtonNamed(detect.Last, "Right")), detect, default);
        var output = await Say("/stats");
        Assert.Contains("from 1 person", output.Last.Text);
    }

    [Fact]
    public async Task The_rate_limit_answers_with_the_wait_instead_of_working()
    {
        _options = new BotOptions { CallbackSecret = Secret, Burst = 2, MessagesPerMinute = 6 };
        await Say("/detect a");
        await Say("/detect b");
        var third = await Say("/detect c");
        Assert.Contains("please wait 10 s", third.Last.Text);
        Assert.Equal(2, _detector.Batches.Count);
        var bob = await Say("/detect d", new ChatUser("test", "bob", "Bob")); // others are not affected
        Assert.Equal(3, _detector.Batches.Count);
    }

    [Fact]
    public async Task Empty_and_non_text_messages_get_help_in_private_and_silence_in_groups()
    {
        Assert.Contains("empty", (await Say("")).Last.Text);
        Assert.Contains("/tweet", (await Say(null, nonText: true)).Last.Text);
        Assert.Contains("only read text", (await Say(null, nonText: true)).Last.Text);
        Assert.Empty((await Say("chatting in the group", chat: Group)).Sent);
        Assert.Contains("I don't know /frobnicate", (await Say("/frobnicate now")).Last.Text);
        Assert.Empty(_detector.Batches); // nothing above was judged
    }

    [Fact]
    public async Task Plain_text_in_a_private_chat_is_judged_like_detect_unless_turned_off()
    {
        var output = await Say("  Forest fire near La Ronge Sask. Canada  ");      // pasted or forwarded: no command needed
        Assert.Contains("Verdict:", output.Last.Text);
        Assert.Equal(["Forest fire near La Ronge Sask. Canada"], _detector.Batches.Single());
        var stored = Assert.Single(await _temp.TextsAsync());
        Assert.Equal(TextOrigin.UserSubmitted, stored.Origin);
        Assert.Equal(3, output.Last.Buttons.Single().Count);                           // the same buttons: right, wrong, why?

        _options = new BotOptions { Moderators = ["test:mod"], CallbackSecret = Secret, AutoDetectPrivateText = false };
        _bot = null;
        Assert.Contains("I answer commands", (await Say("hello bot")).Last.Text);
        Assert.Single(_detector.Batches);
    }

    [Fact]
    public async Task Forget_asks_first_then_deletes_what_the_person_gave_says_how_much_and_logs_no_content()
    {
        await Say("/detect my own words about the flood");
        Assert.Contains("until you send /forget", (await Say("/privacy")).Last.Text);
        var ask = (await Say("/forget")).Last;
        Assert.Contains("Sure?", ask.Text);
        var output = new RecordingChatOutput(AlicePrivate.ChatId);
        await Bot.HandleButtonAsync(Press(ButtonNamed(ask, "Keep")), output, default);
        Assert.Equal("Nothing was deleted.", output.Edits.Last().Reply.Text);
        Assert.Single(await _temp.TextsAsync());

        await Bot.HandleButtonAsync(Press(ButtonNamed(ask, "Yes")), output, default);
        Assert.StartsWith("Forgotten: 1 texts, 0 labels", output.Edits.Last().Reply.Text);
        Assert.Empty(await _temp.TextsAsync());
        Assert.Contains(_log.Lines, l => l.Contains("was forgotten: 1 texts"));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("my own words") || l.Contains("alice"));
        // A forged forget button from another chat does nothing; in a group the command points to a private chat.
        var elsewhere = new RecordingChatOutput();
        await Bot.HandleButtonAsync(Press(ButtonNamed(ask, "Yes"), chat: Group), elsewhere, default);
        Assert.Equal("That button is not valid here.", Assert.Single(elsewhere.Acks));
        Assert.Contains("private chat", (await Say("/forget", chat: Group)).Last.Text);
    }

    [Fact]
    public async Task A_text_that_is_not_english_is_still_judged_with_a_one_line_notice()
    {
        var russian = await Say("/detect Сильное наводнение затопило центр города, жители эвакуированы");
        Assert.StartsWith("(This looks like Cyrillic script, not English. Both models learned from English texts, so the verdict may mean little.)\n", russian.Last.Text);
        Assert.Contains("Verdict:", russian.Last.Text);
        var english = await Say("/detect Forest fire near La Ronge Sask. Canada");
        Assert.DoesNotContain("not English", english.Last.Text);
    }

    [Theory]
    [InlineData("Our Deeds are the Reason of this #earthquake May ALLAH Forgive us all", true)]
    [InlineData("13,000 people receive #wildfires evacuation orders in California", true)]
    [InlineData("I was sitting at home when the power went out and then the whole street flooded within an hour", true)]
    [InlineData("🔥🔥🔥 999", true)]
    [InlineData("Un fuerte terremoto sacudió la ciudad esta mañana y muchas personas salieron a las calles con miedo", false)]
    [InlineData("Ein schweres Erdbeben hat heute Morgen die Stadt erschüttert und viele Menschen sind auf die Straße gelaufen", false)]
    [InlineData("Un violent incendie a ravagé la forêt près du village et les pompiers ont lutté toute la nuit contre les flammes", false)]
    [InlineData("Сильное наводнение затопило центр города", false)]
    [InlineData("東京で大きな地震がありました", false)]
    // English with no function words at all: headlines, adverts, links (17% of the disaster tweets were called
    // "not English" by the first check, which counted the pieces of every link as words).
    [InlineData("Forest fire near La Ronge Sask. Canada, residents asked to shelter in place", true)]
    [InlineData("#AFRICANBAZE: Breaking news:Nigeria flag set ablaze in Aba. http://t.co/2nndBGwyEi", true)]
    [InlineData("Womens Buckle Casual Stylish Shoulder Handbags Pockets Cross Body Bags Green http://t.co/pYee94nuRe", true)]
    [InlineData("Police: Arsonist Deliberately Set Black Church In North CarolinaåÊAblaze http://t.co/pcXarbH9An", true)]
    [InlineData("A man is in the house and the house is on fire near the old Café Łódź", true)]
    [InlineData("Un forte terremoto ha colpito la città questa mattina e molte persone sono scese in strada", false)]
    [InlineData("Um forte terremoto atingiu a cidade esta manhã e muitas pessoas saíram para as ruas com medo", false)]
    [InlineData("Een zware aardbeving heeft vanochtend de stad getroffen en veel mensen zijn de straat op gegaan", false)]
    [InlineData("Gempa bumi yang kuat mengguncang kota pagi ini dan banyak orang berlarian ke jalan", false)]
    [InlineData("En kraftig jordbävning skakade staden i morse och många människor sprang ut på gatorna", false)]
    [InlineData("Silne trzęsienie ziemi nawiedziło miasto dziś rano i wielu ludzi wybiegło na ulice", false)]
    [InlineData("Silné zemětřesení dnes ráno zasáhlo město a mnoho lidí vyběhlo do ulic", false)]
    [InlineData("Bu sabah şehirde güçlü bir deprem oldu ve birçok insan sokaklara koştu", false)]
    [InlineData("Isang malakas na lindol ang tumama sa lungsod kaninang umaga at maraming tao ang tumakbo sa kalye", false)]
    [InlineData("Tetemeko kubwa la ardhi limetikisa mji asubuhi hii na watu wengi wamekimbilia barabarani", false)]
    [InlineData("Un cutremur puternic a zguduit orașul în această dimineață și mulți oameni au ieșit pe străzi", false)]
    [InlineData("Một trận động đất mạnh đã làm rung chuyển thành phố sáng nay", false)]
    public void Language_check_tells_english_from_other_languages(string text, bool english) =>
        Assert.Equal(english, LanguageCheck.LooksEnglish(text));

    [Theory]
    [InlineData("Un fuerte terremoto sacudió la ciudad esta mañana y muchas personas salieron a las calles con miedo", "Spanish")]
    [InlineData("Gostei de um vÌ_deo @YouTube de @christinartnd http://t.co/bwe9kJCEPt Sleeping with Sirens Postcards and Polaroids acoustic cover", "Portuguese")]
    [InlineData("Ein schweres Erdbeben hat heute Morgen die Stadt erschüttert und viele Menschen sind auf die Straße gelaufen", "German")]
    [InlineData("Un fuerte incendio forestal obligó a evacuar a los vecinos de la zona esta noche", "Spanish")] // Romanian's "un de la" too
    [InlineData("Un violent incendie a ravagé la forêt près du village et les pompiers ont lutté toute la nuit contre les flammes", "French")]
    [InlineData("Un forte terremoto ha colpito la città questa mattina e molte persone sono scese in strada", "Italian")]
    [InlineData("Un cutremur puternic a zguduit orașul în această dimineață și mulți oameni au ieșit pe străzi", "Romanian")]
    [InlineData("Silne trzęsienie ziemi nawiedziło miasto dziś rano i wielu ludzi wybiegło na ulice", "a language with letters English does not use")]
    [InlineData("Сильное наводнение затопило центр города", "Cyrillic script")]
    [InlineData("東京で大きな地震がありました", "Japanese")]
    [InlineData("今天北京下大雨", "Chinese characters")]
    [InlineData("زلزال قوي يضرب المدينة", "Arabic script")]
    [InlineData("Forest fire near La Ronge Sask. Canada, residents asked to shelter in place", null)]
    public void Language_check_says_what_a_text_looks_like(string text, string? guess) =>
        Assert.Equal(guess, LanguageCheck.Guess(text));

    [SharedDataFact("disaster-tweets/train.csv")]
    public void Language_check_passes_real_english_tweets()
    {
        // 7,613 real tweets, English but for a handful; the first check called 1,274 of them (17%) not English.
        using var file = new StreamReader(SharedData.Require("disaster-tweets/train.csv"));
        var table = new CsvTable(file);
        var flagged = table.Records().Select(r => r[3]).Where(t => !LanguageCheck.LooksEnglish(t)).ToList();
        Assert.True(flagged.Count <= 8, $"{flagged.Count} of 7,613 English tweets called not English, e.g.:\n" + string.Join("\n", flagged.Take(10)));
        // The one Portuguese tweet of the file is caught.
        Assert.Contains(flagged, t => t.StartsWith("Gostei de um v"));
    }

    [Fact]
    public async Task Commands_addressed_to_the_bot_by_name_work()
    {
        var output = await Say("/detect@GanBertBot hello there", chat: Group);
        Assert.Equal(["hello there"], _detector.Batches.Single());
    }

    [Fact]
    public async Task Missing_models_are_reported_as_unavailable_with_what_to_run()
    {
        await _inference.SwapGenerator(null, "The tweet generator is not installed: run `ganbertbots models pull gpt2`.");
        await _inference.SwapDetector(null, "The detector is not installed: run `ganbertbots train detector`.");
        var tweet = await Say("/tweet storm");
        Assert.Contains("ganbertbots models pull gpt2", tweet.Last.Text);
        var detect = await Say("/detect hello");
        Assert.Contains("ganbertbots train detector", detect.Last.Text);
        var game = await Say("/game");
        Assert.Contains("import-corpus", game.Last.Text);
        Assert.Contains("Detector: not loaded", (await Say("/stats")).Last.Text);
    }

    [Fact]
    public async Task Model_operations_answer_not_available_yet_to_moderators_and_refuse_others()
    {
        Assert.Contains("not available yet", (await Say("/retrain", Mod)).Last.Text);
        Assert.Contains("not available yet", (await Say("/promote v3", Mod)).Last.Text);
        Assert.Contains("only moderators", (await Say("/rollback")).Last.Text);
    }

    [Fact]
    public async Task An_unreachable_database_is_answered_politely_not_thrown()
    {
        // Nothing listens on port 1: every write fails with a StorageException.
        await using var dead = LabelStore.Create(new StorageOptions
        {
            Provider = "postgres", ConnectionString = "Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x;Timeout=2", MaxAttempts = 1,
        });
        var bot = new TestConversation(_inference, dead, _options, logger: _log);
        var output = new RecordingChatOutput();
        await bot.HandleMessageAsync(Msg("/detect text"), output, default);
        Assert.Contains("something went wrong on my side", output.Last.Text);
        Assert.Contains(_log.Lines, l => l.StartsWith("Error") && l.Contains("failed"));
        Assert.Empty(_detector.Batches); // nothing was judged that could not be kept
    }

    [Fact]
    public void Bad_configuration_is_reported_clearly()
    {
        Assert.Contains("platform-qualified", Assert.Throws<ArgumentException>(() =>
            new TestConversation(_inference, _store, new BotOptions { Moderators = ["12345"] })).Message);
        Assert.Contains("16 characters", Assert.Throws<ArgumentException>(() =>
            new TestConversation(_inference, _store, new BotOptions { CallbackSecret = "short" })).Message);
    }

    [Theory]
    [InlineData("telegram:12345", true)]
    [InlineData("discord:987654321", true)]
    [InlineData("12345", false)]
    [InlineData(":12345", false)]
    [InlineData(" :12345", false)]
    [InlineData("telegram:", false)]
    [InlineData("telegram: ", false)]
    [InlineData("a:b:", false)]
    public void Options_and_announcement_targets_share_one_platform_qualified_rule(string id, bool valid)
    {
        Assert.Equal(valid, AnnouncementTarget.IsPlatformQualified(id));
        if (valid)
        {
            Assert.Equal(id.Split(':')[0], AnnouncementTarget.Parse(id, isPerson: false).Platform);
            _ = new TestConversation(_inference, _store, new BotOptions { Moderators = [id], ModeratorChats = [id] });
        }
        else
        {
            Assert.Throws<ArgumentException>(() => AnnouncementTarget.Parse(id, isPerson: false));
            Assert.Contains("platform-qualified", Assert.Throws<ArgumentException>(() =>
                new TestConversation(_inference, _store, new BotOptions { ModeratorChats = [id] })).Message);
        }
    }

}

/// <summary>Collects formatted log lines (with exception messages) for assertions.</summary>
public sealed class ListLogger : ILogger
{
    public List<string> Lines { get; } = [];
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add($"{logLevel}: {formatter(state, exception)} {exception?.Message}");
    }
}
