using System.Net;

namespace GanBertBots.Tests.Process;

/// <summary>
/// The service as a user starts it: the built executable, its own working folder, the default configuration (retraining
/// on, SQLite) unless a test names a setting. What a person sees is read from its standard output, the fake Bot API and
/// its HTTP endpoints; every run ends with SIGTERM, which must stop it with exit code 0 within 10 s.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class ServiceStartTests(Xunit.Abstractions.ITestOutputHelper report)
{
    static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(null)]       // the README's first command: nothing configured (Retraining:Store sqlite)
    [InlineData("memory")]
    [InlineData("sqlite")]
    public async Task Console_answers_help_and_detect_and_stops_on_SIGTERM(string? retrainingStore)
    {
        var env = new Dictionary<string, string>();
        if (retrainingStore != null) env["Retraining__Store"] = retrainingStore;
        await using var service = ServiceProcess.Start(env);
        await service.WaitForOutputAsync("Type /help for the commands");

        service.Type("/help");
        await service.WaitForOutputAsync("/detect TEXT");
        var firstAnswer = service.SinceStart;
        await service.WaitForOutputAsync("/retrain - "); // the person at the terminal moderates

        service.Type("/detect 13,000 people receive #wildfires evacuation orders in California");
        await service.WaitForOutputAsync("detector is not");

        var (code, took) = await service.TerminateAsync(StopLimit);
        report.WriteLine($"timing: console, Retraining:Store {retrainingStore ?? "default (sqlite)"}: first answer {firstAnswer.TotalSeconds:F2} s after start; SIGTERM to exit {took.TotalSeconds:F2} s");
        Assert.Equal(0, code);
        Assert.True(took < StopLimit, $"stopping took {took}");
        Assert.True(File.Exists(Path.Combine(service.WorkDir, "data", "ganbertbots.db")), "the label store was not created under data/");
    }

    [Fact]
    public async Task Console_judges_pasted_text_without_a_command_and_says_when_it_is_not_english()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-paste-").FullName;
        try
        {
            TinyRoundModels.Detector(Path.Combine(work, "models", "detector"), ["a flood took the bridge", "wildfire near the town"]);
            await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false" }, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            // A pasted tweet, no command: 13 words, none on the first check's English list, and a link; once called "not English".
            service.Type("Forest fire near La Ronge Sask. Canada, residents asked to shelter in place http://t.co/x1");
            await service.WaitForOutputAsync("Verdict:");
            Assert.DoesNotContain("not English", service.Output);
            service.Type("Сильное наводнение затопило центр города, жители эвакуированы");
            await service.WaitForOutputAsync("(This looks like Cyrillic script, not English. Both models learned from English texts, so the verdict may mean little.)");
            service.Type("Un fuerte incendio forestal obligó a evacuar a los vecinos de la zona esta noche");
            await service.WaitForOutputAsync("(This looks like Spanish, not English.");
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Console_forget_deletes_the_texts_the_person_sent_after_confirming()
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false" });
        await service.WaitForOutputAsync("Type /help for the commands");
        service.Type("/detect a text of mine that I want back");
        await service.WaitForOutputAsync("detector is not");                   // no model: still kept, as every /detect
        service.Type("/privacy");
        await service.WaitForOutputAsync("until you send /forget");
        service.Type("/forget");
        await service.WaitForOutputAsync("[1] 🗑 Yes, forget me");
        service.Type("1");
        await service.WaitForOutputAsync("Forgotten: 1 texts");
    }

    [Fact]
    public async Task Retention_deletes_unlabelled_submitted_texts_once_they_are_older_than_configured()
    {
        // 0.00003 days is 2.6 s: the purge runs every retention period when that is shorter than a day.
        await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false", ["Storage__RetentionDays"] = "0.00003" });
        await service.WaitForOutputAsync("Type /help for the commands");
        service.Type("/detect a text nobody will label");
        await service.WaitForOutputAsync("detector is not");
        int Submitted()
        {
            using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(service.WorkDir, "data", "ganbertbots.db")};Mode=ReadOnly");
            db.Open();
            using var count = db.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM texts WHERE origin = 'user_submitted'";
            return Convert.ToInt32(count.ExecuteScalar());
        }
        Assert.Equal(1, Submitted());                                     // kept first, as every /detect
        await service.WaitUntilAsync(() => Submitted() == 0, "the purge of the unlabelled text", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task With_retraining_off_retrain_says_how_to_turn_it_on_and_rollback_still_reaches_the_registry()
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false" });
        await service.WaitForOutputAsync("Type /help for the commands");
        service.Type("/retrain");
        await service.WaitForOutputAsync("Retraining__Enabled=true");
        Assert.Contains("Retraining:Enabled is false", service.Output);
        service.Type("/rollback");
        await service.WaitForOutputAsync("Nothing rolled back");
        Assert.Equal(0, (await service.TerminateAsync(StopLimit)).ExitCode);
    }

    [Fact]
    public async Task The_retired_Detector_ModelDirectory_is_still_read_with_a_warning()
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Detector__ModelDirectory"] = "elsewhere/detector" });
        await service.WaitForOutputAsync("Type /help for the commands");
        await service.WaitForErrorAsync("Detector:ModelDirectory");
        Assert.Contains("rename it to Models:Detector", service.Errors);
        Assert.Contains("elsewhere/detector", service.Errors); // the detector looked for is the one the old key names
        Assert.Equal(0, (await service.TerminateAsync(StopLimit)).ExitCode);
    }

    [Fact]
    public async Task The_console_chat_ends_with_its_input_and_the_process_exits_0()
    {
        await using var service = ServiceProcess.Start();
        await service.WaitForOutputAsync("Type /help for the commands");
        service.Type("/quit");
        Assert.Equal(0, await service.WaitForExitAsync(StopLimit));
    }

    [Theory]
    [InlineData("Storage__Provider", "foo", "Storage:Provider 'foo' is unknown; use sqlite or postgres")]
    [InlineData("Inference__Generation__MaxBatchSize", "-1", "Inference:Generation")]
    [InlineData("Inference__Verdict__EvenMargin", "0.7", "Inference:Verdict:EvenMargin must be at least 0 and below 0.5 (was 0.7)")]
    [InlineData("Bots__Moderators__0", "12345", "Bots:Moderators entry '12345' must be platform-qualified")]
    [InlineData("Retraining__Store", "mongo", "Retraining:Store")]
    [InlineData("Telegram__Mode", "carrier-pigeon", "Telegram:Mode 'carrier-pigeon' is unknown; use polling or webhook")]
    [InlineData("Telegram__BotToken", "abc", "Telegram:BotToken is not a bot token")]
    public async Task A_bad_setting_stops_the_start_with_one_line_naming_it_and_exit_code_1(string key, string value, string expected)
    {
        var env = new Dictionary<string, string> { [key] = value };
        if (key.StartsWith("Telegram__"))
        {
            env.TryAdd("Telegram__BotToken", "123456:TEST-token");
            env["Telegram__ApiBaseUrl"] = "http://127.0.0.1:9";
        }
        await using var service = ServiceProcess.Start(env);
        Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(expected, service.Errors);
        Assert.DoesNotContain("Unhandled exception", service.Errors);
        Assert.DoesNotContain("Type /help", service.Output);
    }

    [Fact]
    public async Task A_database_that_cannot_be_reached_stops_the_start_with_one_line_and_exit_code_1()
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Storage__Provider"] = "postgres", ["Storage__MaxAttempts"] = "2",
            ["Storage__ConnectionString"] = $"Host=127.0.0.1;Port={ServiceProcess.FreePort()};Username=x;Password=y;Database=z;Timeout=3",
        });
        Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("run: label store: database unavailable", service.Errors);
        Assert.DoesNotContain("Hosting failed to start", service.Errors);
        Assert.DoesNotContain("Password=y", service.Errors);
    }

    [Fact]
    public async Task Telegram_long_polling_answers_and_health_and_metrics_are_served_on_one_listener()
    {
        await using var telegram = await FakeBotApiServer.StartAsync();
        int port = ServiceProcess.FreePort();
        string baseUrl = $"http://127.0.0.1:{port}";
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Telegram__BotToken"] = telegram.Token,
            ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
            ["Telegram__PollingTimeoutSeconds"] = "1",
            ["Host__Urls"] = baseUrl,
            ["Bots__Moderators__0"] = "telegram:77",
        });
        const long alice = 4242;
        telegram.PostMessage(alice, alice, "/help");
        var help = await telegram.WaitForCallAsync(c => c.ChatId == alice && c.Method == "sendMessage", TimeSpan.FromSeconds(60));
        var firstAnswer = service.SinceStart;
        Assert.Contains("/detect", help.Text);
        // The "/" menu, from the core's commands: everyone's, and the moderator's own (in their chat with the bot).
        var menus = telegram.Calls.Where(c => c.Method == "setMyCommands").ToList();
        var everyone = menus.Single(c => c.ChatId == 0).Text!.Split('\n');
        Assert.Contains("tweet - Write a disaster-style tweet with our GPT-2", everyone);
        Assert.Contains(everyone, l => l.StartsWith("detect - "));
        Assert.DoesNotContain(everyone, l => l.StartsWith("review - ") || l.StartsWith("start - "));
        Assert.Contains(menus.Single(c => c.ChatId == 77).Text!.Split('\n'), l => l.StartsWith("review - "));
        telegram.PostMessage(alice, alice, "/detect a flood took the bridge on Main Street this morning");
        var detect = await telegram.WaitForCallAsync(c => c.ChatId == alice && c.Method == "sendMessage" && c.Text!.Contains("detector"),
            TimeSpan.FromSeconds(30));
        Assert.Contains("not", detect.Text);

        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var live = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());
        var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync()); // no models installed: degraded, not down

        string metrics = "";
        await service.WaitUntilAsync(() =>
        {
            metrics = http.GetStringAsync("/metrics").GetAwaiter().GetResult();
            return metrics.Contains("command=\"/detect\"");
        }, "the /detect command in /metrics", TimeSpan.FromSeconds(30));
        Assert.Matches("ganbertbots_commands_total\\{[^}]*command=\"/help\"[^}]*platform=\"telegram\"[^}]*\\} 1", metrics);
        Assert.Contains("ganbertbots_answer_duration_seconds_bucket", metrics);
        Assert.DoesNotContain("4242", metrics); // no user ids in tags

        var (code, took) = await service.TerminateAsync(StopLimit);
        report.WriteLine($"timing: telegram long polling (retraining sqlite): first answer {firstAnswer.TotalSeconds:F2} s after start; SIGTERM to exit {took.TotalSeconds:F2} s");
        Assert.Equal(0, code);
        Assert.True(took < StopLimit, $"stopping took {took}");
    }
}

/// <summary>Process tests start real processes with their own Kestrel listeners: one at a time on two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServiceProcessCollection
{
    public const string Name = "service processes";
}

/// <summary>Telegram's webhook on the service's one listener, as the replicated deployment runs it.</summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class TelegramWebhookProcessTests
{
    [Fact]
    public async Task Webhook_update_in_flight_at_kill_9_is_delivered_again_and_answered_once()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-hook-").FullName;
        try
        {
            TinyRoundModels.Detector(Path.Combine(work, "models", "detector"), ["a flood took the bridge", "wildfire near the town"]);
            await using var telegram = await FakeBotApiServer.StartAsync();
            int port = ServiceProcess.FreePort();
            var env = new Dictionary<string, string>
            {
                ["Telegram__BotToken"] = telegram.Token, ["Telegram__ApiBaseUrl"] = telegram.BaseUrl, ["Retraining__Enabled"] = "false",
                ["Telegram__Mode"] = "webhook", ["Telegram__WebhookSecret"] = "hook-secret_123", ["Host__Urls"] = $"http://127.0.0.1:{port}",
                ["Telegram__WebhookUrl"] = "https://bots.example/telegram/webhook",
            };
            await using (var first = ServiceProcess.Start(env, work)) // disposed (killed) even when a wait below fails
            {
                await telegram.WaitForCallAsync(c => c.Method == "setWebhook", TimeSpan.FromSeconds(60));
                telegram.DeliverByWebhook([$"http://127.0.0.1:{port}/telegram/webhook"], "hook-secret_123");
                telegram.DelayNext("sendmessage", 1, TimeSpan.FromSeconds(20));       // the verdict hangs on the wire
                telegram.PostMessage(1001, 1001, "/detect a flood took the bridge");
                await telegram.WaitForCallAsync(c => c.ChatId == 1001 && c.Method == "sendChatAction", TimeSpan.FromSeconds(30));
                await Task.Delay(500);                                                  // the verdict is being sent now
                await first.KillAsync();                                                // kill -9 before the webhook was answered
            }
            await using var second = ServiceProcess.Start(env, work);                  // Telegram keeps delivering: to the new process
            var verdict = await telegram.WaitForCallAsync(c => c.ChatId == 1001 && c.Method == "sendMessage", TimeSpan.FromSeconds(60));
            Assert.Contains("Verdict:", verdict.Text);
            await Task.Delay(1000);
            Assert.Single(telegram.CallsIn(1001), c => c.Method == "sendMessage");    // answered once
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Webhook_mode_sets_the_webhook_refuses_a_wrong_secret_and_answers_a_signed_update()
    {
        await using var telegram = await FakeBotApiServer.StartAsync();
        int port = ServiceProcess.FreePort();
        string baseUrl = $"http://127.0.0.1:{port}";
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Telegram__BotToken"] = telegram.Token, ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
            ["Telegram__Mode"] = "webhook", ["Telegram__WebhookSecret"] = "hook-secret_123",
            ["Telegram__WebhookUrl"] = "https://bots.example/telegram/webhook", ["Host__Urls"] = baseUrl,
        });
        var set = await telegram.WaitForCallAsync(c => c.Method == "setWebhook", TimeSpan.FromSeconds(60));
        Assert.Equal("https://bots.example/telegram/webhook", set.Text);

        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        const string update = """{"update_id":77,"message":{"message_id":5,"date":1700000000,"chat":{"id":1001,"type":"private","first_name":"A"},"from":{"id":1001,"is_bot":false,"first_name":"A"},"text":"/help"}}""";
        HttpRequestMessage Post(string body, string? secret)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/telegram/webhook") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            if (secret != null) request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secret);
            return request;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Post(update, null))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Post(update, "hook-secret_124"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(Post("{not json", "hook-secret_123"))).StatusCode);
        Assert.Empty(telegram.CallsIn(1001));
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(Post(update, "hook-secret_123"))).StatusCode);
        var help = await telegram.WaitForCallAsync(c => c.ChatId == 1001 && c.Method == "sendMessage", TimeSpan.FromSeconds(30));
        Assert.Contains("/tweet", help.Text);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode); // same listener

        // A body far over the limit, without a length (chunked): refused as it arrives, not buffered.
        var huge = new HttpRequestMessage(HttpMethod.Post, "/telegram/webhook")
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
                """{"update_id":78,"message":{"message_id":6,"text":" """ + new string('a', 3 << 20) + "\"}}")))
            {
                Headers = { ContentType = new("application/json") },
            },
        };
        huge.Headers.TransferEncodingChunked = true;
        huge.Headers.Add("X-Telegram-Bot-Api-Secret-Token", "hook-secret_123");
        try
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.SendAsync(huge)).StatusCode);
        }
        catch (HttpRequestException e) when (e.InnerException is IOException)
        {
            // Kestrel answered 413 and closed the connection while the upload was still being sent: refused as it arrived.
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        Assert.Equal(0, (await service.TerminateAsync(TimeSpan.FromSeconds(10))).ExitCode);
    }
}
