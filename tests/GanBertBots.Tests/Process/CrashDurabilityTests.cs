using GanBertBots.Storage;
using GanBertBots.Tests.Storage;

namespace GanBertBots.Tests.Process;

/// <summary>
/// kill -9 in the middle of a burst of button presses (issue 16 item 3): the updates the process had fetched but not
/// finished come again at the next start, so every press is answered and stored, and none is stored twice.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class CrashDurabilityTests
{
    [Theory]
    [InlineData(20)]
    [InlineData(60)]
    public async Task Presses_in_flight_at_kill_9_are_handled_after_the_restart_exactly_once_in_the_store(int killAfterMs)
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-kill-").FullName;
        try
        {
            var storage = new StorageOptions { DataDirectory = Path.Combine(work, "data") };
            await KillMidBurstAsync(work, killAfterMs, new Dictionary<string, string>(), storage);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }
    }

    [PostgresFact]
    public async Task On_postgres_presses_in_flight_at_kill_9_are_handled_after_the_restart_exactly_once()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-kill-pg-").FullName;
        var (schema, connectionString) = await PostgresTestServer.CreateSchemaAsync();
        try
        {
            var env = new Dictionary<string, string> { ["Storage__Provider"] = "postgres", ["Storage__ConnectionString"] = connectionString };
            await KillMidBurstAsync(work, 40, env, PostgresTestServer.Options(connectionString));
        }
        finally
        {
            await PostgresTestServer.DropSchemaAsync(schema);
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>30 verdicts, then a press on each, kill -9 <paramref name="killAfterMs"/> later, restart: all answered, 30 labels.</summary>
    static async Task KillMidBurstAsync(string work, int killAfterMs, Dictionary<string, string> storageEnv, StorageOptions storage)
    {
        // Sure of gpt2 on every text: each verdict claims something, so it carries the "Right" button pressed below.
        TinyRoundModels.UselessDetector(Path.Combine(work, "models", "detector"), ["a flood took the bridge", "wildfire near the town"], always: "gpt2");
        await using var telegram = await FakeBotApiServer.StartAsync();
        var env = new Dictionary<string, string>(storageEnv)
        {
            ["Telegram__BotToken"] = telegram.Token, ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
            ["Telegram__PollingTimeoutSeconds"] = "1", ["Retraining__Enabled"] = "false",
            ["Bots__CallbackSecret"] = "the-same-secret-after-a-restart", ["Bots__MessagesPerMinute"] = "1000", ["Bots__Burst"] = "100",
        };
        const int chats = 30;
        var verdicts = new List<BotCall>();
        await using (var first = ServiceProcess.Start(new Dictionary<string, string>(env) { ["Host__Urls"] = $"http://127.0.0.1:{ServiceProcess.FreePort()}" }, work))
        {
            for (int c = 0; c < chats; c++)
            {
                long chat = 9000 + c;
                int asked = telegram.PostMessage(chat, chat, $"/detect report {c}: the river flooded the lower town overnight").MessageId;
                verdicts.Add(await telegram.WaitForCallAsync(x => x.ChatId == chat && x.Method == "sendMessage" && x.ReplyToMessageId == asked, TimeSpan.FromSeconds(60)));
            }
            foreach (var v in verdicts)
                telegram.PressButton(v.ChatId, v.MessageId, v.ChatId, v.Buttons[0].Single(b => b.Label.Contains("Right")).Data);
            await Task.Delay(killAfterMs);
            await first.KillAsync();
        }
        int answeredBefore = chats - telegram.UnansweredCallbacks.Count;

        int port = ServiceProcess.FreePort();
        await using (var second = ServiceProcess.Start(new Dictionary<string, string>(env) { ["Host__Urls"] = $"http://127.0.0.1:{port}" }, work))
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await second.WaitUntilAsync(() =>
            {
                try { return http.GetAsync("/readyz").GetAwaiter().GetResult().IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, "the restarted service ready", TimeSpan.FromSeconds(60));
            await second.WaitUntilAsync(() => telegram.UnansweredCallbacks.Count == 0, "every press answered after the restart", TimeSpan.FromSeconds(60));
            Assert.Equal(0, (await second.TerminateAsync()).ExitCode);
        }

        await using var store = await LabelStore.OpenAsync(storage);
        var feedback = (await store.GetStatsAsync()).LabelsFrom(LabelSource.UserFeedback);
        Assert.True(feedback == chats, $"{feedback} feedback labels for {chats} presses ({answeredBefore} answered before the kill)");
    }
}
