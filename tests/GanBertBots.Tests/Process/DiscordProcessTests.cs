using GanBertBots.Tests.Discord;

namespace GanBertBots.Tests.Process;

/// <summary>The built executable with Discord enabled (gateway mode) against the fake Discord gateway and REST API.</summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class DiscordProcessTests(Xunit.Abstractions.ITestOutputHelper report)
{
    [Fact]
    public async Task Discord_gateway_answers_a_slash_command_and_SIGTERM_stops_the_process()
    {
        await using var gateway = await FakeGateway.StartAsync();
        await using var rest = await FakeRest.StartAsync();
        rest.AnswerForOneShard(gateway);
        int port = ServiceProcess.FreePort();
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Discord__Enabled"] = "true", ["Discord__Mode"] = "gateway", ["Discord__BotToken"] = "test-token",
            ["Discord__ApplicationId"] = "42", ["Discord__ApiBaseUrl"] = rest.BaseUrl + "/api/v10",
            ["Host__Urls"] = $"http://127.0.0.1:{port}",
        });

        var connection = await gateway.NextConnectionAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var before = await http.GetAsync("/readyz");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, before.StatusCode); // connected, but no READY yet
        await connection.HelloAsync(45_000);
        await connection.ExpectAsync(2); // IDENTIFY
        await connection.ReadyAsync(gateway, "s1", 1);
        await service.WaitUntilAsync(() => http.GetAsync("/readyz").GetAwaiter().GetResult().StatusCode == System.Net.HttpStatusCode.OK,
            "/readyz 200 once the shard is READY", TimeSpan.FromSeconds(20));
        await connection.SendAsync(0, Payloads.Slash("help", null), 2, "INTERACTION_CREATE");
        await service.WaitUntilAsync(() => rest.Matching("PATCH", "@original").Length >= 1 || rest.Matching("POST", "/callback").Any(r => r.Body.Contains("/detect")),
            "Discord's answer to /help", TimeSpan.FromSeconds(30));
        string answer = string.Join("\n", rest.Matching("PATCH", "@original").Select(r => r.Body).Concat(rest.Matching("POST", "/callback").Select(r => r.Body)));
        var firstAnswer = service.SinceStart;
        Assert.Contains("/detect", answer);
        Assert.Contains(rest.Requests, r => r.Method == "PUT" && r.Path == "/api/v10/applications/42/commands"); // commands registered

        // The message menu "Who wrote this?": thinking privately, then the answer in place (no detector here: it says so).
        var menu = Payloads.MessageMenu("our town is flooding, send help");
        await connection.SendAsync(0, menu, 3, "INTERACTION_CREATE");
        await service.WaitUntilAsync(() => rest.Matching("PATCH", $"/{menu["token"]}/messages/@original").Length == 1, "the answer to Who wrote this?", TimeSpan.FromSeconds(30));
        Assert.Equal(64, (int)rest.Matching("POST", $"/interactions/{menu["id"]}/")[0].Json!["data"]!["flags"]!);
        Assert.Contains("detector", rest.Matching("PATCH", $"/{menu["token"]}/messages/@original")[0].Body);

        var (code, took) = await service.TerminateAsync(TimeSpan.FromSeconds(10));
        report.WriteLine($"timing: discord gateway (retraining sqlite): first answer {firstAnswer.TotalSeconds:F2} s after start; SIGTERM to exit {took.TotalSeconds:F2} s");
        Assert.Equal(0, code);
        Assert.True(took < TimeSpan.FromSeconds(10), $"stopping took {took}");
    }
}
