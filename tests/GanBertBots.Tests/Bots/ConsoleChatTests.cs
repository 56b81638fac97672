using GanBertBots.Bots.Console;
using GanBertBots.Conversation;
using GanBertBots.Inference;

namespace GanBertBots.Tests.Bots;

public sealed class ConsoleChatTests
{
    [Fact]
    public async Task Lines_become_commands_and_numbers_press_the_shown_buttons()
    {
        await using var temp = await TempLabelStore.OpenAsync();
        using var inference = new InferenceService(new InferenceOptions(), new FakeTweetModel(), new FakeDetectorModel());
        var bot = new TestConversation(inference, temp.Store, new BotOptions
        {
            CallbackSecret = "console-test-secret-0123456789", Moderators = [ConsoleChat.LocalUser.QualifiedId],
        });
        // /detect shows [1] Right [2] Wrong; "2" asks for the class with 7 choices; "7" picks the 7th (gpt2).
        var input = new StringReader("/detect some suspicious text\n2\n7\n/tweet flood\n/quit\n/help\n");
        var output = new StringWriter();
        await new ConsoleChat(bot, input, output).RunAsync(CancellationToken.None);
        string text = output.ToString();

        Assert.Contains("Verdict:", text);
        Assert.Contains("[1] ✅ Right   [2] ❌ Wrong", text);
        Assert.Contains("Who wrote it, then?", text);
        Assert.Contains("(Thanks, noted: gpt2.)", text);
        Assert.Contains(FakeTweetModel.TweetFor("flood"), text);
        Assert.DoesNotContain("/review - label", text); // stopped at /quit, before /help
        var label = Assert.Single(await temp.LabelsAsync());
        Assert.Equal(("gpt2", "console", "local"), (label.Class, label.Who.Platform, label.Who.PlatformUserId));
    }
}
