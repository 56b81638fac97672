using System.Diagnostics;
using GanBertBots.Bots.Telegram;
using GanBertBots.Conversation;
using GanBertBots.Host.Cli;
using GanBertBots.Host.Composition;
using GanBertBots.Host.Serving;
using GanBertBots.Inference;
using GanBertBots.Models.Runtime;
using GanBertBots.Storage;
using GanBertBots.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Host.Bench;

/// <summary>
/// <c>bench bots</c>: many simulated Telegram chats send /detect and /tweet at once through a fake Bot API server on
/// 127.0.0.1 into the real adapter, conversation core, inference service and SQLite store. Reports latency per
/// command (post to final answer), throughput, the model-only time of the batches that served them (the bound), and
/// the updates that were lost or never answered (must be 0).
/// </summary>
public sealed class BotsBenchmark : IBenchmark
{
    public IReadOnlyList<string> Flags => ["telegram-limits"];

    public string Name => "bots";
    public string Summary => "200 simulated Telegram chats: /detect and /tweet latency p50/p99, throughput vs model-only time, lost updates";
    public string Usage => """
        [--chats 200]            simulated chats; each sends /detect and /tweet at once
        [--model DIR]            GPT-2 checkpoint (default: Models:Generator if present, else a small random byte-level GPT-2)
        [--detector DIR]         trained detector (default: Models:Detector if present; without one /detect answers "not set up yet")
        [--new-tokens 40]        tokens per tweet
        [--telegram-limits]      pace replies with Telegram's real limits (1/s per chat, 30/s overall); default: unpaced
        [--timeout 300]          seconds to wait for all answers
        [--queue N]              inference queue capacity (default: one place per chat; smaller shows "busy" answers)
        [--quick]                20 chats, 16 tokens
        """;

    public async Task<int> RunAsync(CliArgs a, CliContext context)
    {
        var w = context.Out;
        bool quick = a.Flag("quick");
        int chats = a.GetInt("chats", quick ? 20 : 200);
        int newTokens = a.GetInt("new-tokens", quick ? 16 : 40);
        bool realLimits = a.Flag("telegram-limits");
        int timeoutSeconds = a.GetInt("timeout", 300);
        int? queue = a.GetIntOrNull("queue");
        var models = new ModelsOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(context.Configuration.GetSection(ModelsOptions.Section), models);
        string? modelDir = a.Get("model") ?? (File.Exists(Path.Combine(models.Generator, "config.json")) ? models.Generator : null);
        string? detectorDir = a.Get("detector") ?? (File.Exists(Path.Combine(models.Detector, "config.json")) ? models.Detector : null);
        a.RejectUnknown();
        if (chats < 1) throw new CliUsageException("--chats must be at least 1");

        string work = Directory.CreateTempSubdirectory("ganbertbots-bench-bots").FullName;
        try
        {
            if (modelDir is null)
            {
                modelDir = Path.Combine(work, "gpt2");
                ByteLevelGpt2.Create(modelDir, layers: 4, embedding: 128, heads: 4, positions: 256);
            }
            await using var server = await FakeBotApiServer.StartAsync();
            // The service as `run` composes it (AddGanBertBots), on settings for the bench: the fake Bot API, queues deep
            // enough for every chat at once (the bench measures serving, not refusals; --queue tests backpressure).
            var settings = new Dictionary<string, string?>
            {
                ["Models:Generator"] = modelDir, ["Models:Detector"] = detectorDir ?? Path.Combine(work, "no-detector"),
                ["Inference:Device"] = "cpu", ["Inference:DefaultTweet:MaxNewTokens"] = newTokens.ToString(),
                ["Inference:Generation:QueueCapacity"] = (queue ?? Math.Max(64, chats)).ToString(),
                ["Inference:Detection:QueueCapacity"] = (queue ?? Math.Max(512, chats)).ToString(),
                ["Storage:DataDirectory"] = Path.Combine(work, "data"),
                ["Bots:CallbackSecret"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)),
                ["Bots:MessagesPerMinute"] = "10000", ["Bots:Burst"] = "100",
                ["Telegram:BotToken"] = server.Token, ["Telegram:ApiBaseUrl"] = server.BaseUrl, ["Telegram:PollingTimeoutSeconds"] = "1",
                ["Telegram:MaxConcurrentUpdates"] = Math.Max(256, chats * 2).ToString(),
                ["Retraining:Enabled"] = "false", ["Retraining:RegistryRoot"] = Path.Combine(work, "registry"),
            };
            if (!realLimits)
            {
                settings["Telegram:MessagesPerSecondPerChat"] = "1000";
                settings["Telegram:MessagesPerMinutePerGroup"] = "100000";
                settings["Telegram:MessagesPerSecondOverall"] = "100000";
            }
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(configuration);
            builder.Services.AddGanBertBots(configuration, ServiceShape.From(configuration));
            using var host = builder.Build();
            await host.StartAsync(context.Cancellation);
            var inference = host.Services.GetRequiredService<InferenceService>();
            var bot = host.Services.GetRequiredService<TelegramBotService>();
            if (inference.GeneratorVersion is null) { context.Error.WriteLine($"bench bots: could not load the generator from {modelDir}"); return 1; }
            var router = await bot.Ready.WaitAsync(TimeSpan.FromSeconds(30), context.Cancellation);

            w.WriteLine($"Generator: {inference.GeneratorVersion} ({modelDir}); detector: {inference.DetectorVersion ?? "none (answers 'not set up yet')"}");
            w.WriteLine($"{chats} chats, each sending /detect and /tweet at once; {newTokens} new tokens per tweet; " +
                        (realLimits ? "Telegram's outbound limits." : "outbound limits off (measures the service, not Telegram's pacing)."));

            // Everyone at once.
            var posted = new List<(long Chat, string Command, int MessageId, TimeSpan At)>();
            var wall = Stopwatch.StartNew();
            var start = server.Now;
            for (int c = 0; c < chats; c++)
            {
                long chat = 10_000 + c;
                var (_, detectId) = server.PostMessage(chat, chat, $"/detect Report {c}: roads closed after heavy flooding near the river, residents told to stay home");
                posted.Add((chat, "/detect", detectId, server.Now));
                var (_, tweetId) = server.PostMessage(chat, chat, "/tweet " + Topics[c % Topics.Length]);
                posted.Add((chat, "/tweet", tweetId, server.Now));
            }

            // The final answer: /detect's reply; /tweet's placeholder (a reply to the command) edited to carry buttons or a refusal.
            var deadline = TimeSpan.FromSeconds(timeoutSeconds);
            var latencies = new Dictionary<string, List<double>> { ["/detect"] = [], ["/tweet"] = [] };
            var open = posted.ToList();
            while (open.Count > 0 && wall.Elapsed < deadline && !context.Cancellation.IsCancellationRequested)
            {
                var calls = server.Calls;
                var byChat = calls.GroupBy(x => x.ChatId).ToDictionary(g => g.Key, g => g.ToList());
                open.RemoveAll(p =>
                {
                    if (!byChat.TryGetValue(p.Chat, out var list)) return false;
                    var reply = list.FirstOrDefault(x => x.Method == "sendMessage" && x.ReplyToMessageId == p.MessageId);
                    if (reply is null) return false;
                    TimeSpan? done = p.Command == "/detect" ? reply.At
                        : list.LastOrDefault(x => x.Method == "editMessageText" && x.MessageId == reply.MessageId && !x.Text!.EndsWith('▌'))?.At;
                    if (done is null) return false;
                    latencies[p.Command].Add((done.Value - p.At).TotalMilliseconds);
                    return true;
                });
                await Task.Delay(20);
            }
            var elapsed = server.Now - start;
            await host.StopAsync(CancellationToken.None);

            var stats = inference.Statistics;
            w.WriteLine();
            w.WriteLine("| command | sent | answered | lost | p50 ms | p99 ms | max ms | model batches | mean batch | model-only s |");
            w.WriteLine("|---------|-----:|---------:|-----:|-------:|-------:|-------:|--------------:|-----------:|-------------:|");
            Row("/detect", stats.DetectionBatches, stats.DetectionRequests, stats.DetectionModelTime);
            Row("/tweet", stats.GenerationBatches, stats.GenerationRequests, stats.GenerationModelTime);
            int answered = latencies.Values.Sum(l => l.Count);
            double modelSeconds = (stats.DetectionModelTime + stats.GenerationModelTime).TotalSeconds;
            w.WriteLine();
            w.WriteLine($"Wall time {elapsed.TotalSeconds:F2} s; throughput {answered / elapsed.TotalSeconds:F1} commands/s.");
            w.WriteLine($"Model-only time of the same batches {modelSeconds:F2} s: the service spent {modelSeconds / elapsed.TotalSeconds * 100:F0}% of the wall time in the models " +
                        "(the rest: queueing for the one worker, storage, HTTP to the Bot API, pacing).");
            w.WriteLine($"Updates posted {server.UpdatesPosted}, handled {router.Handled}, failed {router.Failed}, still pending at the server {server.PendingUpdates}; " +
                        $"unanswered button callbacks {server.UnansweredCallbacks.Count}; busy answers {stats.BusyAnswers}.");
            int lost = open.Count;
            w.WriteLine(lost == 0 ? "Lost or unanswered commands: 0 (target 0)." : $"Lost or unanswered commands: {lost} (target 0) - FAILED");
            return lost == 0 && router.Failed == 0 ? 0 : 1;

            void Row(string command, long batches, long requests, TimeSpan modelTime)
            {
                var l = latencies[command].Order().ToList();
                int sent = posted.Count(p => p.Command == command);
                string P(double q) => l.Count == 0 ? "-" : l[Math.Min(l.Count - 1, (int)Math.Ceiling(q * l.Count) - 1)].ToString("F0");
                w.WriteLine($"| {command,-7} | {sent,4} | {l.Count,8} | {sent - l.Count,4} | {P(0.5),6} | {P(0.99),6} | {(l.Count == 0 ? "-" : l[^1].ToString("F0")),6} | " +
                            $"{batches,13} | {(batches == 0 ? 0 : (double)requests / batches),10:F1} | {modelTime.TotalSeconds,12:F2} |");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static readonly string[] Topics = ["flood", "earthquake", "wildfire", "hurricane", "Evacuation ordered downtown", "storm", "tornado", "explosion"];
}
