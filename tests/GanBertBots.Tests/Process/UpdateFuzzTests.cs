using System.Text.Json.Nodes;

namespace GanBertBots.Tests.Process;

/// <summary>
/// A seeded fuzz run through the real executable (issue 16): a thousand mutated Telegram updates (fields missing,
/// wrong types, nulls, lone surrogates, huge strings, unknown fields, cut-off nesting) interleaved with good /help
/// messages from their own chats. The process stays up, every good update is answered exactly once, and every update
/// is confirmed.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class UpdateFuzzTests
{
    const int Mutated = 1000, GoodEvery = 10;

    [Theory]
    [InlineData(17)]
    public async Task Mutated_updates_never_stop_or_stall_the_service(int seed)
    {
        await using var telegram = await FakeBotApiServer.StartAsync();
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Telegram__BotToken"] = telegram.Token, ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
            ["Telegram__PollingTimeoutSeconds"] = "1", ["Host__Urls"] = $"http://127.0.0.1:{ServiceProcess.FreePort()}",
            ["Retraining__Enabled"] = "false",
            // The run is about reading updates, not about Telegram's pacing.
            ["Telegram__MessagesPerSecondPerChat"] = "1000", ["Telegram__MessagesPerSecondOverall"] = "100000",
            ["Telegram__MessagesPerMinutePerGroup"] = "100000",
        });
        var random = new Random(seed);
        var good = new List<(long Chat, int MessageId)>();
        for (int i = 0; i < Mutated; i++)
        {
            var mutant = Mutate(random);
            telegram.PostRawUpdate(id => mutant(id));
            if (i % GoodEvery == 0)
            {
                long chat = 800_000 + i;
                good.Add((chat, telegram.PostMessage(chat, chat, "/help").MessageId));
            }
        }
        foreach (var (chat, messageId) in good)
            await telegram.WaitForCallAsync(c => c.ChatId == chat && c.Method == "sendMessage" && c.ReplyToMessageId == messageId, TimeSpan.FromSeconds(120));
        await service.WaitUntilAsync(() => telegram.HighestConfirmed >= telegram.UpdatesPosted, "every update confirmed", TimeSpan.FromSeconds(60));
        foreach (var (chat, _) in good) Assert.Single(telegram.CallsIn(chat), c => c.Method == "sendMessage");
        Assert.False(service.HasExited);
        Assert.Equal(0, (await service.TerminateAsync()).ExitCode);
    }

    /// <summary>A good update's JSON with one to three random things wrong with it, for a given update id.</summary>
    static Func<int, string> Mutate(Random random)
    {
        long chat = random.Next(1, 1_000_000);
        var template = random.Next(3) switch
        {
            0 => Message(chat, "/help"),
            1 => Message(chat, "some text " + random.Next()),
            _ => new JsonObject
            {
                ["callback_query"] = new JsonObject
                {
                    ["id"] = "q" + random.Next(), ["chat_instance"] = "ci", ["data"] = "r1-2.AAAAAAAAAAAAAAAA",
                    ["from"] = new JsonObject { ["id"] = chat, ["is_bot"] = false, ["first_name"] = "F" },
                    ["message"] = Message(chat, "verdict")["message"]!.DeepClone(),
                },
            },
        };
        var edits = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(10)).ToList();
        string tail = "";
        foreach (int edit in edits)
        {
            if (template.First(kv => kv.Key != "update_id").Value is not JsonObject body) break; // already not an object
            var fields = body.Select(kv => kv.Key).ToList();
            string field = fields[random.Next(fields.Count)];
            switch (edit)
            {
                case 0: body.Remove(field); break;                                                   // missing field
                case 1: body[field] = null; break;                                                    // null
                case 2: body[field] = random.Next(); break;                                           // a number instead
                case 3: body[field] = "str" + random.Next(); break;                                   // a string instead
                case 4: body[field] = new JsonArray(1, "two", null); break;                           // an array instead
                case 5: body["text"] = new string('x', random.Next(10_000, 200_000)); break;          // huge text
                case 6: tail = "\\ud800"; break;                                                      // lone surrogate
                case 7: body["unknown_field_" + random.Next()] = new JsonObject { ["deep"] = new JsonArray() }; break;
                case 8: template[template.First().Key] = "not an object"; break;                       // wrong kind
                default: body["chat"] = new JsonObject { ["id"] = "abc", ["type"] = 7 }; break;       // wrong chat
            }
        }
        return id =>
        {
            var copy = (JsonObject)template.DeepClone();
            copy["update_id"] = id;
            string json = copy.ToJsonString();
            // A lone surrogate cannot live in a .NET string as JSON writes it: put the escape into the raw text.
            return tail.Length == 0 ? json : json.Replace("\"text\":\"", "\"text\":\"" + tail);
        };
    }

    static JsonObject Message(long chat, string text) => new()
    {
        ["message"] = new JsonObject
        {
            ["message_id"] = 1, ["date"] = 1_700_000_000, ["text"] = text,
            ["chat"] = new JsonObject { ["id"] = chat, ["type"] = "private", ["first_name"] = "F" },
            ["from"] = new JsonObject { ["id"] = chat, ["is_bot"] = false, ["first_name"] = "F" },
        },
    };
}
