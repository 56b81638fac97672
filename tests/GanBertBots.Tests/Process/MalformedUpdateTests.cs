
namespace GanBertBots.Tests.Process;

/// <summary>
/// Malformed Telegram updates in the long-polling stream of the real executable: each is skipped (and confirmed), the
/// process keeps running, and the good updates around them are all answered, once each.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class MalformedUpdateTests
{
    const string From = """{"id":5151,"is_bot":false,"first_name":"M"}""";
    const string Chat = """{"id":5151,"type":"private","first_name":"M"}""";

    /// <summary>The malformed updates the service once died or stalled on, by what is wrong with them.</summary>
    public static readonly (string What, Func<int, string> Json)[] Malformed =
    [
        ("a null update", _ => "null"),
        ("a message without its chat", id => $$$"""{"update_id":{{{id}}},"message":{"message_id":1,"date":1700000000,"from":{{{From}}},"text":"/help"}}"""),
        ("a press whose message has no chat", id => $$$"""{"update_id":{{{id}}},"callback_query":{"id":"q{{{id}}}","from":{{{From}}},"chat_instance":"c","data":"x","message":{"message_id":1,"date":1700000000} } }"""),
        ("a press with neither sender nor message", id => $$$"""{"update_id":{{{id}}},"callback_query":{"id":"q{{{id}}}","chat_instance":"c","data":"x"}}"""),
        ("a lone UTF-16 surrogate", id => $$$"""{"update_id":{{{id}}},"message":{"message_id":2,"date":1700000000,"chat":{{{Chat}}},"from":{{{From}}},"text":"\ud800 /help"}}"""),
        ("a message that is a string", id => $$$"""{"update_id":{{{id}}},"message":"hello"}"""),
        ("a chat id that is not a number", id => $$$"""{"update_id":{{{id}}},"message":{"message_id":3,"date":1700000000,"chat":{"id":"abc","type":"private"},"from":{{{From}}},"text":"/help"}}"""),
        ("a date that is a string", id => $$$"""{"update_id":{{{id}}},"message":{"message_id":4,"date":"yesterday","chat":{{{Chat}}},"from":{{{From}}},"text":"/help"}}"""),
        ("a text that is a number", id => $$$"""{"update_id":{{{id}}},"message":{"message_id":5,"date":1700000000,"chat":{{{Chat}}},"from":{{{From}}},"text":42}}"""),
        ("an update without an id", _ => """{"message":{"message_id":6,"date":1700000000,"chat":{"id":5151,"type":"private"},"text":"/help"}}"""),
    ];

    [Fact]
    public async Task Every_malformed_update_is_skipped_and_the_good_ones_around_it_are_answered_once()
    {
        await using var telegram = await FakeBotApiServer.StartAsync();
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Telegram__BotToken"] = telegram.Token, ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
            ["Telegram__PollingTimeoutSeconds"] = "1", ["Host__Urls"] = $"http://127.0.0.1:{ServiceProcess.FreePort()}",
            ["Retraining__Enabled"] = "false",
        });
        var asked = new List<(long Chat, int MessageId)>();
        long chat = 7000;
        foreach (var (_, json) in Malformed)
        {
            telegram.PostRawUpdate(json);
            chat++;
            asked.Add((chat, telegram.PostMessage(chat, chat, "/help").MessageId));
        }
        foreach (var (c, messageId) in asked)
            await telegram.WaitForCallAsync(x => x.ChatId == c && x.Method == "sendMessage" && x.ReplyToMessageId == messageId, TimeSpan.FromSeconds(60));
        await Task.Delay(500);
        foreach (var (c, _) in asked) Assert.Single(telegram.CallsIn(c), x => x.Method == "sendMessage");
        Assert.Empty(telegram.CallsIn(5151)); // nothing was answered to the malformed ones
        await service.WaitUntilAsync(() => telegram.HighestConfirmed >= telegram.UpdatesPosted - 1, "every update confirmed", TimeSpan.FromSeconds(20));
        Assert.False(service.HasExited);
        Assert.Contains("skipped", service.Errors);
        Assert.Equal(0, (await service.TerminateAsync()).ExitCode);
    }
}
