using System.Net;
using System.Text;
using GanBertBots.Bots.Telegram;
using GanBertBots.Storage;
using Telegram.Bot.Types.Enums;

namespace GanBertBots.Tests.Bots;

/// <summary>
/// End to end through the real Telegram.Bot client, long polling a fake Bot API server on 127.0.0.1, into the real
/// conversation core, inference service (fake models) and SQLite store.
/// </summary>
public sealed class TelegramEndToEndTests(Xunit.Abstractions.ITestOutputHelper Output)
{
    const long Alice = 1001, Bob = 1002, Group = -100500;

    static bool IsFinalTweet(BotCall c) => c.Method == "editMessageText" && c.Buttons.Count > 0;

    [Fact]
    public async Task Start_and_help_answer_in_a_private_chat()
    {
        await using var h = await TelegramHarness.StartAsync();
        var start = await h.SayAsync(Alice, Alice, "/start");
        Assert.Contains("/tweet", start.Text);
        var help = await h.SayAsync(Alice, Alice, "/help");
        Assert.Contains("/detect", help.Text);
        Assert.DoesNotContain("/review", help.Text);
        var modHelp = await h.SayAsync(TelegramHarness.ModeratorId, TelegramHarness.ModeratorId, "/help");
        Assert.Contains("/review", modHelp.Text);
    }

    [Fact]
    public async Task Tweet_streams_by_edits_and_the_buttons_work()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Generator.WordDelay = TimeSpan.FromMilliseconds(40);
        var final = await h.SayAsync(Alice, Alice, "/tweet flood", until: IsFinalTweet);
        Assert.StartsWith(FakeTweetModel.TweetFor("flood"), final.Text);
        var calls = h.Server.CallsIn(Alice);
        Assert.Contains(calls, c => c.Method == "sendChatAction" && c.Text == "typing");
        var placeholder = calls.First(c => c.Method == "sendMessage");
        Assert.Equal(placeholder.MessageId, final.MessageId);
        Assert.Contains(calls, c => c.Method == "editMessageText" && c.Text!.EndsWith('▌')); // streamed

        var fooled = final.Buttons.SelectMany(r => r).Single(b => b.Label.Contains("Fooled"));
        var ack = await h.PressAsync(Alice, final.MessageId, Alice, fooled.Data);
        Assert.Equal("Thanks, noted!", ack.Text);
        var label = Assert.Single(await h.Temp.LabelsAsync());
        Assert.Equal(("human", LabelSource.UserFeedback, new UserKey("telegram", Alice.ToString())), (label.Class, label.Source, label.Who));

        var another = final.Buttons.SelectMany(r => r).Single(b => b.Label.Contains("Another"));
        int finals = h.Server.CallsIn(Alice).Count(IsFinalTweet);
        h.Server.PressButton(Alice, final.MessageId, Alice, another.Data);
        var second = await h.Server.WaitForCallAsync(c => c.ChatId == Alice && IsFinalTweet(c), skip: finals);
        Assert.StartsWith(FakeTweetModel.TweetFor("flood"), second.Text);
        Assert.Empty(h.Server.UnansweredCallbacks);
    }

    [Fact]
    public async Task Detect_replies_with_the_verdict_and_right_wrong_buttons_store_labels()
    {
        await using var h = await TelegramHarness.StartAsync();
        const string text = "13,000 people receive #wildfires evacuation orders in California";
        var verdict = await h.SayAsync(Alice, Alice, "/detect " + text);
        Assert.Contains("Verdict:", verdict.Text);
        Assert.Contains("Model: fake-ganbert-v1", verdict.Text);
        Assert.Contains("█", verdict.Text);
        Assert.NotNull(verdict.ReplyToMessageId);

        var right = verdict.Buttons[0].Single(b => b.Label.Contains("Right"));
        Assert.Equal("Thanks, noted!", (await h.PressAsync(Alice, verdict.MessageId, Alice, right.Data)).Text);
        Assert.Equal(FakeDetectorModel.LabelFor(text), Assert.Single(await h.Temp.LabelsAsync()).Class);

        var wrong = verdict.Buttons[0].Single(b => b.Label.Contains("Wrong"));
        int before = h.Server.CallsIn(Alice).Count(c => c.Method == "sendMessage");
        h.Server.PressButton(Alice, verdict.MessageId, Bob, wrong.Data);
        var picker = await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Method == "sendMessage", skip: before);
        Assert.Contains("Who wrote it", picker.Text);
        var cohere = picker.Buttons.SelectMany(r => r).Single(b => b.Label == "cohere");
        Assert.StartsWith("Thanks", (await h.PressAsync(Alice, picker.MessageId, Bob, cohere.Data)).Text);
        var bobs = (await h.Temp.LabelsAsync()).Single(l => l.Who.PlatformUserId == Bob.ToString());
        Assert.Equal("cohere", bobs.Class);
        var edited = await h.Server.WaitForCallAsync(c => c.Method == "editMessageText" && c.ChatId == Alice && c.MessageId == picker.MessageId);
        Assert.Contains("cohere", edited.Text);
    }

    [Fact]
    public async Task Detect_as_a_reply_reads_the_replied_message()
    {
        await using var h = await TelegramHarness.StartAsync();
        var (_, original) = h.Server.PostMessage(Group, Bob, "Residents asked to shelter in place", ChatType.Supergroup);
        var verdict = await h.SayAsync(Group, Alice, "/detect", ChatType.Supergroup, replyTo: original);
        Assert.Contains("Verdict:", verdict.Text);
        Assert.Equal(["Residents asked to shelter in place"], h.Detector.Batches.Single());
    }

    [Fact]
    public async Task A_forged_callback_and_one_replayed_from_another_chat_are_refused()
    {
        await using var h = await TelegramHarness.StartAsync();
        var verdict = await h.SayAsync(Alice, Alice, "/detect some text to judge");
        var right = verdict.Buttons[0][0].Data;
        string forged = right[..^1] + (right[^1] == 'A' ? 'B' : 'A');
        Assert.Equal("That button is not valid here.", (await h.PressAsync(Alice, verdict.MessageId, Alice, forged)).Text);
        Assert.Equal("That button is not valid here.", (await h.PressAsync(Alice, verdict.MessageId, Alice, "r1:human")).Text);

        var other = await h.SayAsync(Bob, Bob, "/help");
        Assert.Equal("That button is not valid here.", (await h.PressAsync(Bob, other.MessageId, Bob, right)).Text);
        Assert.Empty(await h.Temp.LabelsAsync());
    }

    [Fact]
    public async Task A_non_moderator_cannot_review_or_label_and_a_moderator_can()
    {
        await using var h = await TelegramHarness.StartAsync();
        await h.SayAsync(Alice, Alice, "/detect please review this text");
        var refused = await h.SayAsync(Alice, Alice, "/review");
        Assert.Equal("Sorry, only moderators can do that.", refused.Text);
        Assert.Contains(h.Log.Lines, l => l.Contains("/review") && l.Contains($"telegram:{Alice}"));

        long mod = TelegramHarness.ModeratorId;
        var review = await h.SayAsync(mod, mod, "/review");
        Assert.Contains("please review this text", review.Text);
        var human = review.Buttons.SelectMany(r => r).Single(b => b.Label == "human");
        // Alice cannot use a review button even where she sees one (a group): here she presses it in the moderator's chat.
        Assert.Equal("That button is not valid here.", (await h.PressAsync(Alice, refused.MessageId, Alice, human.Data)).Text);
        Assert.StartsWith("Labelled", (await h.PressAsync(mod, review.MessageId, mod, human.Data)).Text);
        var label = Assert.Single(await h.Temp.LabelsAsync());
        Assert.Equal((LabelSource.Moderator, UserRole.Moderator, "human"), (label.Source, label.Role, label.Class));
    }

    [Fact]
    public async Task In_a_group_chat_admins_moderate_commands_to_other_bots_and_chatter_are_ignored()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Server.MakeAdmin(Group, Bob);
        await h.SayAsync(Group, Alice, "/detect@GanBertTestBot a text for the group", ChatType.Supergroup);
        Assert.Equal(["a text for the group"], h.Detector.Batches.Single());

        // Neither of these may produce an answer; a later /help proves the bot went on.
        h.Server.PostMessage(Group, Alice, "/detect@SomeOtherBot not for us", ChatType.Supergroup);
        h.Server.PostMessage(Group, Alice, "just chatting", ChatType.Supergroup);
        int sent = h.Server.CallsIn(Group).Count(c => c.Method == "sendMessage");
        var help = await h.SayAsync(Group, Alice, "/help@GanBertTestBot", ChatType.Supergroup);
        Assert.Contains("/tweet", help.Text);
        Assert.Equal(sent + 1, h.Server.CallsIn(Group).Count(c => c.Method == "sendMessage"));
        Assert.Single(h.Detector.Batches);

        var refused = await h.SayAsync(Group, Alice, "/review", ChatType.Supergroup);
        Assert.Equal("Sorry, only moderators can do that.", refused.Text);
        var review = await h.SayAsync(Group, Bob, "/review", ChatType.Supergroup);
        Assert.Contains("a text for the group", review.Text);
        var dolly = review.Buttons.SelectMany(r => r).Single(b => b.Label == "dolly");
        Assert.Equal("Sorry, only moderators can do that.", (await h.PressAsync(Group, review.MessageId, Alice, dolly.Data)).Text);
        Assert.StartsWith("Labelled", (await h.PressAsync(Group, review.MessageId, Bob, dolly.Data)).Text);
        Assert.Equal(new UserKey("telegram", Bob.ToString()), Assert.Single(await h.Temp.LabelsAsync()).Who);
    }

    [Fact]
    public async Task A_429_from_the_server_is_retried_after_retry_after_and_nothing_is_lost()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Server.FailNext("sendmessage", 1, retryAfterSeconds: 1);
        var started = h.Server.Now;
        var help = await h.SayAsync(Alice, Alice, "/help");
        Assert.Contains("/tweet", help.Text);
        Assert.True(help.At - started >= TimeSpan.FromSeconds(1), $"answered after {(help.At - started).TotalMilliseconds} ms");
        Assert.Equal(1, h.Bot.Outbox.Retries);
    }

    [Fact]
    public async Task Lost_connections_on_edits_and_button_answers_are_retried_and_the_tweet_still_finishes()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Generator.WordDelay = TimeSpan.FromMilliseconds(40);
        h.Server.ResetNext("editmessagetext", 2);
        var final = await h.SayAsync(Alice, Alice, "/tweet flood", until: IsFinalTweet);
        Assert.StartsWith(FakeTweetModel.TweetFor("flood"), final.Text);

        h.Server.ResetNext("answercallbackquery", 1);
        var fooled = final.Buttons.SelectMany(r => r).Single(b => b.Label.Contains("Fooled"));
        Assert.Equal("Thanks, noted!", (await h.PressAsync(Alice, final.MessageId, Alice, fooled.Data)).Text);
        Assert.Empty(h.Server.UnansweredCallbacks);
        Assert.True(h.Bot.Outbox.Retries >= 3, $"{h.Bot.Outbox.Retries} retries");
    }

    [Fact]
    public async Task A_streak_of_six_429s_delays_the_verdict_and_does_not_drop_it()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Server.FailNext("sendmessage", 6, retryAfterSeconds: 1);
        var started = h.Server.Now;
        var verdict = await h.SayAsync(Alice, Alice, "/detect a flood took the bridge");
        Assert.Contains("Verdict:", verdict.Text);
        Assert.True(verdict.At - started >= TimeSpan.FromSeconds(6), $"answered after {(verdict.At - started).TotalSeconds:F1} s");
        Assert.Single(h.Server.CallsIn(Alice), c => c.Method == "sendMessage");
    }

    [Fact]
    public async Task Server_errors_on_the_verdict_and_on_the_button_answer_are_retried_and_each_lands_once()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Server.FailNextWithServerError("sendmessage", 2);
        const string text = "13,000 people receive #wildfires evacuation orders in California";
        var verdict = await h.SayAsync(Alice, Alice, "/detect " + text);          // two 500s, then the verdict
        Assert.Contains("Verdict:", verdict.Text);
        Assert.Single(h.Server.CallsIn(Alice), c => c.Method == "sendMessage");

        h.Server.FailNextWithServerError("answercallbackquery", 1);
        var right = verdict.Buttons[0].Single(b => b.Label.Contains("Right"));
        Assert.Equal("Thanks, noted!", (await h.PressAsync(Alice, verdict.MessageId, Alice, right.Data)).Text);
        Assert.Empty(h.Server.UnansweredCallbacks);                               // the button does not keep spinning
        Assert.Equal(3, h.Bot.Outbox.Retries);
    }

    [Fact]
    public async Task A_ten_second_bot_api_call_for_one_chat_holds_up_no_other_chat_and_its_answer_lands_once()
    {
        await using var h = await TelegramHarness.StartAsync();
        const long bob = 4242;
        h.Server.DelayNext("sendmessage", 1, TimeSpan.FromSeconds(10));   // Alice's verdict: ten seconds on the wire
        var alice = h.SayAsync(Alice, Alice, "/detect a flood took the bridge");
        await h.Server.WaitForCallAsync(c => c.Method == "sendChatAction" && c.ChatId == Alice); // her verdict is on its way
        var bobs = await h.SayAsync(bob, bob, "/detect smoke over the ridge");
        var alices = await alice;
        Assert.Contains("Verdict:", bobs.Text);
        Assert.Contains("Verdict:", alices.Text);
        Assert.True(bobs.At < alices.At, $"Bob answered at {bobs.At.TotalSeconds:F2} s, after Alice's slow call ended at {alices.At.TotalSeconds:F2} s");
        Assert.Single(h.Server.CallsIn(Alice), c => c.Method == "sendMessage"); // exactly one final answer each
        Assert.Single(h.Server.CallsIn(bob), c => c.Method == "sendMessage");
    }

    [Fact]
    public async Task A_text_file_gets_a_verdict_per_paragraph_and_other_files_a_plain_answer()
    {
        await using var h = await TelegramHarness.StartAsync();
        async Task<BotCall> Answer(string name, byte[] content, string? mime = "text/plain")
        {
            int before = h.Server.CallsIn(Alice).Count(c => c.Method == "sendMessage");
            h.Server.PostDocument(Alice, Alice, name, content, mime);
            return await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Method == "sendMessage", skip: before);
        }
        const string post = "Forest fire near La Ronge Sask. Canada, everyone is safe.\n\n" +
                            "Residents asked to shelter in place are being notified by officers.\n\nshort\n\r\n" +
                            "Thirteen thousand people receive wildfire evacuation orders in California tonight.";
        var verdict = await Answer("post.txt", Encoding.UTF8.GetBytes(post));
        Assert.Contains("📄 post.txt: 3 paragraphs judged.", verdict.Text);       // "short" is not judged
        Assert.Contains("Overall - real or fake:", verdict.Text);
        Assert.Equal(3, h.Detector.Batches.SelectMany(b => b).Count());
        Assert.Contains("I read .txt and .md files only", (await Answer("report.pdf", [1, 2, 3], "application/pdf")).Text);
        Assert.Contains("up to 1 MB", (await Answer("huge.txt", new byte[(1 << 20) + 1])).Text);
        Assert.Contains("not UTF-8", (await Answer("latin1.md", [0x66, 0x6c, 0x6f, 0x6f, 0x64, 0xe9, 0xe9, 0xff], null)).Text);
        Assert.Contains("does not look like text", (await Answer("image.txt", [.. Enumerable.Range(0, 4096).Select(i => (byte)(i % 7 == 0 ? 0 : 'a' + i % 26))])).Text);
        Assert.Equal(3, h.Detector.Batches.SelectMany(b => b).Count());            // none of those reached the model

        // A whole megabyte on one line: one paragraph, read up to Bots:MaxInputChars, judged once.
        byte[] oneLine = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("flood water rising ", (1 << 20) / 19 + 1))[..(1 << 20)]);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var megabyte = await Answer("one-line.txt", oneLine);
        Assert.Contains("📄 one-line.txt: 1 paragraph judged.", megabyte.Text);
        Assert.Equal(2000, h.Detector.Batches.Last().Single().Length);
        Output.WriteLine($"timing: a 1 MiB one-line file from upload to verdict (fake detector): {started.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_forwarded_post_in_a_private_chat_is_judged_without_a_command()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Server.PostForward(Alice, Alice, "Forest fire near La Ronge Sask. Canada", "A stranger");
        var verdict = await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Method == "sendMessage");
        Assert.Contains("Verdict:", verdict.Text);
        Assert.Equal(["Forest fire near La Ronge Sask. Canada"], h.Detector.Batches.Single());
    }

    [Fact]
    public async Task Inline_queries_are_answered_with_the_verdict_as_one_result_and_nothing_is_stored()
    {
        await using var h = await TelegramHarness.StartAsync();
        string id = h.Server.PostInlineQuery(Alice, "Forest fire near La Ronge Sask. Canada");
        var answer = await h.Server.WaitForCallAsync(c => c.Method == "answerInlineQuery" && c.CallbackQueryId == id);
        Assert.Matches("^(Likely written by a person|Likely machine-written|Can't tell): person \\d+%\n---\nWho wrote \"Forest fire near La Ronge Sask. Canada\"\\?", answer.Text);
        Assert.Contains("Most likely writer: ", answer.Text);
        Assert.Equal(10, answer.ReplyToMessageId);                                  // cache_time: 10 s
        Assert.Empty(await h.Temp.TextsAsync());                                     // a draft is not a submission

        string shortId = h.Server.PostInlineQuery(Alice, "Fire");                   // sent on every keystroke
        var hint = await h.Server.WaitForCallAsync(c => c.Method == "answerInlineQuery" && c.CallbackQueryId == shortId);
        Assert.StartsWith("Type or paste the text to check", hint.Text);
        Assert.Single(h.Detector.Batches.SelectMany(b => b));                        // only the long query reached the model

        // A hundred people at once: every query answered, each within its own rate limit, nothing crashes.
        var ids = Enumerable.Range(0, 100).Select(i => h.Server.PostInlineQuery(70_000 + i, $"Wildfire smoke seen over the hills, report {i}")).ToList();
        foreach (var each in ids)
            Assert.Contains("Most likely writer: ", (await h.Server.WaitForCallAsync(c => c.Method == "answerInlineQuery" && c.CallbackQueryId == each)).Text);
    }

    [Fact]
    public async Task Empty_sticker_huge_emoji_and_right_to_left_messages_are_answered()
    {
        await using var h = await TelegramHarness.StartAsync();
        Assert.Contains("only read text", (await h.SayAsync(Alice, Alice, null)).Text);
        Assert.Contains("empty", (await h.SayAsync(Alice, Alice, "")).Text);

        string huge = string.Concat(Enumerable.Repeat("Flames everywhere! ", 600))[..10_000];
        var cut = await h.SayAsync(Alice, Alice, "/detect " + huge);
        Assert.Contains("I read the first 2000", cut.Text);
        Assert.True(cut.Text!.Length <= 4096);

        const string mixed = "🔥🚒 حريق في وسط المدينة 🌊 שיטפון";
        var verdict = await h.SayAsync(Alice, Alice, "/detect " + mixed);
        Assert.Contains("Verdict:", verdict.Text);
        Assert.Equal(mixed, h.Detector.Batches.Last().Single());

        var tweet = await h.SayAsync(Alice, Alice, "/tweet 🌋", until: IsFinalTweet);
        Assert.StartsWith(FakeTweetModel.TweetFor("🌋"), tweet.Text);
        Assert.Contains(await h.Temp.TextsAsync(), t => t.Content == mixed);
    }

    [Fact]
    public async Task Game_stats_mods_and_model_operations_answer()
    {
        await using var h = await TelegramHarness.StartAsync(configureBot: b => b.GameRealShare = 1);
        await h.Temp.Store.AddTextAsync(new NewText("Forest fire near La Ronge Sask. Canada", TextOrigin.Corpus) { CorpusName = "disaster-tweets", CorpusLabel = "1", WrittenBy = "human" });
        var round = await h.SayAsync(Alice, Alice, "/game");
        Assert.Contains("La Ronge", round.Text);
        int sent = h.Server.CallsIn(Alice).Count(c => c.Method == "sendMessage");
        Assert.Equal("Right!", (await h.PressAsync(Alice, round.MessageId, Alice, round.Buttons[0][0].Data)).Text);
        var result = await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Method == "sendMessage", skip: sent);
        Assert.Contains("score: 1/1", result.Text);

        Assert.Contains("Your game score: 1/1", (await h.SayAsync(Alice, Alice, "/stats")).Text);
        long mod = TelegramHarness.ModeratorId;
        Assert.Contains($"telegram:{mod}", (await h.SayAsync(mod, mod, "/mods")).Text);
        Assert.Contains("not available yet", (await h.SayAsync(mod, mod, "/retrain")).Text);
    }

    [Fact]
    public async Task Outbound_messages_keep_to_one_per_second_per_chat_queued_not_dropped()
    {
        await using var h = await TelegramHarness.StartAsync(o => { o.MessagesPerSecondPerChat = 1; o.MessagesPerSecondOverall = 30; o.MessagesPerMinutePerGroup = 20; });
        for (int i = 0; i < 3; i++) h.Server.PostMessage(Alice, Alice, "/help");
        h.Server.PostMessage(Bob, Bob, "/help");
        var third = await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Method == "sendMessage", TimeSpan.FromSeconds(20), skip: 2);
        var sends = h.Server.CallsIn(Alice).Where(c => c.Method == "sendMessage").ToList();
        Assert.Equal(3, sends.Count);
        for (int i = 1; i < sends.Count; i++)
            Assert.True(sends[i].At - sends[i - 1].At >= TimeSpan.FromMilliseconds(950), $"gap {(sends[i].At - sends[i - 1].At).TotalMilliseconds} ms");
        // Another chat is not held up by Alice's queue.
        var bob = await h.Server.WaitForCallAsync(c => c.ChatId == Bob && c.Method == "sendMessage");
        Assert.True(bob.At < third.At);
    }

    [Fact]
    public async Task A_tweet_in_flight_when_the_bot_stops_is_finished_before_it_stops()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Generator.WordDelay = TimeSpan.FromMilliseconds(60);
        h.Server.PostMessage(Alice, Alice, "/tweet flood");
        await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Method == "editMessageText"); // streaming has begun
        await h.Bot.StopAsync(CancellationToken.None);
        Assert.Contains(h.Server.CallsIn(Alice), IsFinalTweet);
        Assert.DoesNotContain(h.Server.CallsIn(Alice), c => c.Text == TelegramUpdateRouter.Restarting);
    }

    [Fact]
    public async Task An_update_that_cannot_finish_before_the_stop_is_told_the_bot_is_restarting()
    {
        await using var h = await TelegramHarness.StartAsync();
        h.Generator.WordDelay = TimeSpan.FromSeconds(2); // far longer than the stop waits
        h.Server.PostMessage(Alice, Alice, "/tweet flood");
        await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Method == "sendMessage"); // the placeholder
        await h.Bot.StopAsync(CancellationToken.None);
        await h.Server.WaitForCallAsync(c => c.ChatId == Alice && c.Text == TelegramUpdateRouter.Restarting, TimeSpan.FromSeconds(5));
    }
}
