using System.Text;

namespace GanBertBots.Tests.Process;

/// <summary>A .txt file and an inline query sent to the real executable's Telegram bot (fake Bot API), judged with a real tiny detector.</summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class FileVerdictProcessTests
{
    [Fact]
    public async Task A_text_file_sent_in_a_private_chat_is_judged_paragraph_by_paragraph()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-file-").FullName;
        try
        {
            TinyRoundModels.Detector(Path.Combine(work, "models", "detector"), ["a flood took the bridge", "wildfire near the town"]);
            await using var telegram = await FakeBotApiServer.StartAsync();
            await using var service = ServiceProcess.Start(new Dictionary<string, string>
            {
                ["Telegram__BotToken"] = telegram.Token, ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
                ["Telegram__PollingTimeoutSeconds"] = "1", ["Retraining__Enabled"] = "false",
            }, work);
            const long chat = 5150;
            telegram.PostDocument(chat, chat, "statement.txt", Encoding.UTF8.GetBytes(
                "The river rose two metres overnight and the old bridge is gone.\n\n" +
                "Residents of the valley are asked to leave their homes before noon today."));
            var answer = await telegram.WaitForCallAsync(c => c.ChatId == chat && c.Method == "sendMessage", TimeSpan.FromSeconds(60));
            Assert.Contains("📄 statement.txt: 2 paragraphs judged.", answer.Text);
            Assert.Contains("Overall - real or fake:", answer.Text);
            Assert.Contains("Most machine-like:", answer.Text);

            // Inline mode: "@bot some text" in any chat is answered with the verdict as a result to post.
            string query = telegram.PostInlineQuery(chat, "The river rose two metres overnight and the old bridge is gone.");
            var inline = await telegram.WaitForCallAsync(c => c.Method == "answerInlineQuery" && c.CallbackQueryId == query, TimeSpan.FromSeconds(60));
            Assert.Contains("Most likely writer: ", inline.Text);
        }
        finally { Directory.Delete(work, recursive: true); }
    }
}
