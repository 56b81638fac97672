using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GanBertBots.Tests.Storage;

namespace GanBertBots.Tests.Process;

/// <summary>
/// Two replicas of the built executable on one PostgreSQL database (labels, clustered Quartz) and one model registry,
/// as deploy/docker-compose.yml runs them: Telegram's updates arrive by webhook, alternately at each replica (the test
/// plays the load balancer). Every update is answered exactly once; a label written through one is seen by the other; a
/// /retrain pressed on one runs one round in the cluster; a promotion made on one is served by both.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class ReplicaTests
{
    const string Secret = "replica-hook-secret";
    const long Moderator = 900, Alice = 1001, Bob = 1002;

    [PostgresFact]
    public async Task Two_replicas_on_one_database_answer_each_update_once_share_labels_run_one_round_and_follow_one_promotion()
    {
        var (schema, connectionString) = await PostgresTestServer.CreateSchemaAsync();
        string shared = Directory.CreateTempSubdirectory("ganbertbots-replicas-").FullName;
        try
        {
            // The registry both replicas serve from: detector v0001 live, v0002 registered.
            string registry = Path.Combine(shared, "registry");
            string[] texts = ["a flood took the bridge", "wildfire near the town", "people evacuated after the storm"];
            // Sure of gpt2 on every text: its verdicts claim something, so they carry the "Right" button pressed below.
            TinyRoundModels.UselessDetector(Path.Combine(shared, "d1"), texts, always: "gpt2");
            TinyRoundModels.UselessDetector(Path.Combine(shared, "d2"), texts, always: "gpt2");
            var registryOnly = new Dictionary<string, string> { ["Retraining__RegistryRoot"] = registry };
            await ServiceProcess.RunCliOkAsync(shared, registryOnly, "models", "register", "detector", "d1", "--promote");
            await ServiceProcess.RunCliOkAsync(shared, registryOnly, "models", "register", "detector", "d2");

            await using var telegram = await FakeBotApiServer.StartAsync();
            Dictionary<string, string> Settings(string node, int port) => new()
            {
                ["Storage__Provider"] = "postgres", ["Storage__ConnectionString"] = connectionString,
                ["Retraining__Store"] = "postgres", ["Retraining__ConnectionString"] = connectionString,
                ["Retraining__NodeId"] = node, ["Retraining__RegistryRoot"] = registry,
                ["Retraining__ScratchRoot"] = Path.Combine(shared, "scratch-" + node), ["Retraining__FollowInterval"] = "00:00:00.500",
                ["Telegram__BotToken"] = telegram.Token, ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
                ["Telegram__Mode"] = "webhook", ["Telegram__WebhookSecret"] = Secret, ["Telegram__WebhookUrl"] = "https://bots.example/telegram/webhook",
                ["Bots__CallbackSecret"] = "one-secret-for-every-replica", ["Bots__Moderators__0"] = $"telegram:{Moderator}",
                ["Host__Urls"] = $"http://127.0.0.1:{port}",
            };
            int portA = ServiceProcess.FreePort(), portB = ServiceProcess.FreePort();
            await using var a = ServiceProcess.Start(Settings("replica-a", portA));
            await using var b = ServiceProcess.Start(Settings("replica-b", portB));
            using var toA = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portA}") };
            using var toB = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portB}") };
            await WaitReadyAsync(a, toA);
            await WaitReadyAsync(b, toB);
            string hookA = $"http://127.0.0.1:{portA}/telegram/webhook", hookB = $"http://127.0.0.1:{portB}/telegram/webhook";
            telegram.DeliverByWebhook([hookA, hookB], Secret);

            // Updates go to A and B in turn; each is answered exactly once.
            var detect = await SayAsync(telegram, Alice, "/detect a flood took the bridge on Main Street");
            var other = await SayAsync(telegram, Bob, "/detect people evacuated after the storm downtown");
            Assert.Contains("Verdict", detect.Answer.Text);
            Assert.Contains("Model: detector v0001", other.Answer.Text);
            Assert.NotEqual(detect.Replica, other.Replica);

            // Alice's "Right" is written through one replica; /stats on the other counts it.
            var right = detect.Answer.Buttons.SelectMany(r => r).Single(x => x.Label.Contains("Right"));
            telegram.PressButton(Alice, detect.Answer.MessageId, Alice, right.Data);
            await telegram.WaitForCallAsync(c => c.Method == "answerCallbackQuery" && c.Text == "Thanks, noted!", TimeSpan.FromSeconds(20));
            // A webhook update is answered 200 once it is handled, a moment after the button's answer: wait for the press's
            // own delivery before asking which replica took it.
            for (int i = 0; i < 80 && telegram.WebhookDeliveries.Count(d => d.Status == 200) < telegram.UpdatesPosted; i++) await Task.Delay(100);
            string pressedAt = telegram.WebhookDeliveries.Last(d => d.Status == 200).Endpoint;
            using (var metrics = new HttpClient { BaseAddress = new Uri(pressedAt.Replace("/telegram/webhook", "")) })
            {
                // The Prometheus exporter serves a cached scrape for a moment: read until the count shows (or 10 s pass).
                const string written = "ganbertbots_labels_written_total\\{[^}]*source=\"userfeedback\"[^}]*\\} 1";
                string scraped = "";
                for (int i = 0; i < 40 && !System.Text.RegularExpressions.Regex.IsMatch(scraped, written); i++)
                {
                    if (i > 0) await Task.Delay(250);
                    scraped = await metrics.GetStringAsync("/metrics");
                }
                Assert.Matches(written, scraped);
            }
            var stats = await SayAsync(telegram, Moderator, "/stats");
            Assert.NotEqual(pressedAt, stats.Replica);
            Assert.Contains("1 feedback", stats.Answer.Text);

            // /retrain on one replica: one round in the cluster.
            var retrain = await SayAsync(telegram, Moderator, "/retrain");
            Assert.Contains("queued", retrain.Answer.Text);
            await a.WaitUntilAsync(() => RoundsStarted(a, b) >= 1, "a retraining round in either replica", TimeSpan.FromSeconds(60));
            await Task.Delay(TimeSpan.FromSeconds(3)); // time for a second, wrong, run to show
            Assert.Equal(1, RoundsStarted(a, b));

            // A promotion made on one replica is served by both.
            var promote = await SayAsync(telegram, Moderator, "/promote detector v0002");
            Assert.Contains("Live now: detector v0002", promote.Answer.Text);
            var servingV2 = new HashSet<string>();
            for (int i = 0; i < 40 && servingV2.Count < 2; i++)
            {
                var answer = await SayAsync(telegram, Moderator, "/stats");
                if (answer.Answer.Text!.Contains("Detector: detector v0002")) servingV2.Add(answer.Replica);
                else await Task.Delay(250);
            }
            Assert.Equal(new[] { hookA, hookB }.Order(), servingV2.Order());

            // Every update was accepted at the first try, alternately.
            var accepted = telegram.WebhookDeliveries.Where(d => d.Status == 200).ToList();
            Assert.Equal(telegram.UpdatesPosted, accepted.Count);
            Assert.All(accepted.Zip(accepted.Skip(1)), pair => Assert.NotEqual(pair.First.Endpoint, pair.Second.Endpoint));

            Assert.Equal(0, (await a.TerminateAsync()).ExitCode);
            Assert.Equal(0, (await b.TerminateAsync()).ExitCode);
        }
        finally
        {
            await PostgresTestServer.DropSchemaAsync(schema);
            Directory.Delete(shared, recursive: true);
        }
    }

    /// <summary>Rounds the replicas' Quartz jobs ran (each logs one line when its round ends, whatever the outcome).</summary>
    static int RoundsStarted(ServiceProcess a, ServiceProcess b) =>
        (a.Errors + b.Errors).Split('\n').Count(line => line.Contains("RetrainingJob") && line.Contains("(retraining.retrain-now)"));

    static async Task WaitReadyAsync(ServiceProcess service, HttpClient http) =>
        await service.WaitUntilAsync(() =>
        {
            try { return http.GetAsync("/readyz").GetAwaiter().GetResult().StatusCode == HttpStatusCode.OK; }
            catch (HttpRequestException) { return false; }
        }, "/readyz answering 200", TimeSpan.FromSeconds(90));

    /// <summary>A person writes in their private chat; the fake delivers it to the next replica. The one answer, and who gave it.</summary>
    static async Task<(BotCall Answer, string Replica)> SayAsync(FakeBotApiServer telegram, long user, string text)
    {
        var (updateId, messageId) = telegram.PostMessage(user, user, text);
        bool IsAnswer(BotCall c) => c.ChatId == user && c.Method == "sendMessage" && c.ReplyToMessageId == messageId;
        var answer = await telegram.WaitForCallAsync(IsAnswer, TimeSpan.FromSeconds(30));
        await Task.Delay(300); // a second answer from the other replica would be here by now
        Assert.Single(telegram.CallsIn(user), IsAnswer);
        return (answer, telegram.WebhookDeliveries.Single(d => d.UpdateId == updateId && d.Status == 200).Endpoint);
    }
}
