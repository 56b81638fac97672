using System.Net;
using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Discord.Interactions;
using GanBertBots.Bots.Discord.Rest;

namespace GanBertBots.Tests.Discord;

/// <summary>The REST client's rate limiting and retries against a fake Discord API on 127.0.0.1.</summary>
public sealed class RestClientTests
{
    static DiscordRestClient Client(FakeRest rest, int maxRetries = 5, CapturingLogger<DiscordRestClient>? log = null) => new(new HttpClient(), new DiscordOptions
    {
        BotToken = "test-token",
        ApplicationId = "42",
        ApiBaseUrl = rest.BaseUrl + "/api/v10",
        RestMaxRetries = maxRetries,
        RestRetryBaseDelay = TimeSpan.FromMilliseconds(20),
    }, log);

    static Dictionary<string, string> Bucket(string hash, int remaining, double resetAfter) => new()
    {
        ["X-RateLimit-Bucket"] = hash,
        ["X-RateLimit-Limit"] = "5",
        ["X-RateLimit-Remaining"] = remaining.ToString(),
        ["X-RateLimit-Reset-After"] = resetAfter.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task A_429_on_a_bucket_delays_that_bucket_only()
    {
        await using var rest = await FakeRest.StartAsync();
        int aCalls = 0;
        rest.Respond = r => r.Path.Contains("/channels/1/")
            ? Interlocked.Increment(ref aCalls) == 1
                ? new FakeResponse(429, """{"message":"You are being rate limited.","retry_after":0.6,"global":false}""",
                    new(Bucket("bucket-a", 0, 0.6)) { ["X-RateLimit-Scope"] = "user", ["Retry-After"] = "3" })
                : new FakeResponse(200, """{"id":"a"}""", Bucket("bucket-a", 4, 1))
            : new FakeResponse(200, """{"id":"b"}""", Bucket("bucket-b", 4, 1));
        var client = Client(rest);

        var a = client.SendAsync(HttpMethod.Post, "/channels/1/messages", new JsonObject { ["content"] = "x" }, CancellationToken.None);
        await Wait.Until(() => aCalls == 1, "the first call on bucket A");
        var b = await client.SendAsync(HttpMethod.Post, "/channels/2/typing", null, CancellationToken.None).WaitAsync(Wait.Long);
        Assert.Equal("b", (string)b!["id"]!);
        Assert.False(a.IsCompleted, "A is still waiting out its retry_after while B went through");
        Assert.Equal("a", (string)(await a.WaitAsync(Wait.Long))!["id"]!);

        var aRequests = rest.Matching("POST", "/channels/1/");
        var bRequest = rest.Matching("POST", "/channels/2/").Single();
        Assert.Equal(2, aRequests.Length);
        Assert.True(aRequests[1].At - aRequests[0].At >= TimeSpan.FromMilliseconds(590), $"retry came after retry_after (0.6 s, from the body, not the rounded header): {(aRequests[1].At - aRequests[0].At).TotalMilliseconds} ms");
        Assert.True(aRequests[1].At - aRequests[0].At < TimeSpan.FromMilliseconds(2500), "retry_after in the body (0.6 s) wins over the Retry-After header (3 s)");
        Assert.True(bRequest.At < aRequests[1].At, "B was not held behind A's rate limit");
        Assert.Equal("""{"content":"x"}""", aRequests[1].Body); // the retried call is the same call
    }

    [Fact]
    public async Task Remaining_zero_makes_the_next_call_on_the_bucket_wait_for_reset_after()
    {
        await using var rest = await FakeRest.StartAsync();
        int calls = 0;
        rest.Respond = _ => new FakeResponse(200, "{}", Bucket("bucket-c", Interlocked.Increment(ref calls) == 1 ? 0 : 4, 0.4));
        var client = Client(rest);
        await client.SendAsync(HttpMethod.Get, "/channels/5/messages/77", null, CancellationToken.None);
        // Another message id on the same channel: same route, same bucket, same major parameter.
        await client.SendAsync(HttpMethod.Get, "/channels/5/messages/78", null, CancellationToken.None).WaitAsync(Wait.Long);
        var seen = rest.Requests.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.True(seen[1].At - seen[0].At >= TimeSpan.FromMilliseconds(390), $"waited out Reset-After: {(seen[1].At - seen[0].At).TotalMilliseconds} ms");
        Assert.EndsWith("/78", seen[1].Path);
    }

    [Fact]
    public async Task A_global_429_holds_every_route()
    {
        await using var rest = await FakeRest.StartAsync();
        int calls = 0;
        rest.Respond = _ => Interlocked.Increment(ref calls) == 1
            ? new FakeResponse(429, """{"message":"You are being rate limited.","retry_after":0.5,"global":true}""", new() { ["X-RateLimit-Global"] = "true", ["X-RateLimit-Scope"] = "global" })
            : new FakeResponse(200);
        var log = new CapturingLogger<DiscordRestClient>();
        var client = Client(rest, log: log);
        var a = client.SendAsync(HttpMethod.Get, "/guilds/1", null, CancellationToken.None);
        await Wait.Until(() => log.Lines.Any(l => l.Contains("global scope")), "the client to take in the global 429");
        await client.SendAsync(HttpMethod.Get, "/guilds/2", null, CancellationToken.None).WaitAsync(Wait.Long);
        await a.WaitAsync(Wait.Long);
        var first = rest.Requests.First();
        Assert.All(rest.Requests.Skip(1), r => Assert.True(r.At - first.At >= TimeSpan.FromMilliseconds(490), $"{r.Path} waited for the global limit"));
    }

    [Fact]
    public async Task A_shared_scope_429_is_honoured_on_its_resource()
    {
        await using var rest = await FakeRest.StartAsync();
        int calls = 0;
        rest.Respond = _ => Interlocked.Increment(ref calls) == 1
            ? new FakeResponse(429, """{"message":"The resource is being rate limited.","retry_after":0.3,"global":false}""", new(Bucket("bucket-s", 3, 9)) { ["X-RateLimit-Scope"] = "shared" })
            : new FakeResponse(200);
        var client = Client(rest);
        await client.SendAsync(HttpMethod.Patch, "/channels/9", new JsonObject { ["name"] = "n" }, CancellationToken.None).WaitAsync(Wait.Long);
        var seen = rest.Requests.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.True(seen[1].At - seen[0].At >= TimeSpan.FromMilliseconds(290));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_then_reported_never_dropped()
    {
        await using var rest = await FakeRest.StartAsync();
        int calls = 0;
        rest.Respond = _ => Interlocked.Increment(ref calls) <= 2 ? new FakeResponse(502, "bad gateway") : new FakeResponse(200, """{"ok":true}""");
        var ok = await Client(rest).SendAsync(HttpMethod.Get, "/gateway/bot", null, CancellationToken.None);
        Assert.True((bool)ok!["ok"]!);
        Assert.Equal(3, calls);

        rest.Respond = _ => new FakeResponse(503, "down");
        var error = await Assert.ThrowsAsync<DiscordApiException>(() => Client(rest, maxRetries: 2).SendAsync(HttpMethod.Get, "/gateway/bot", null, CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.Status);
        Assert.Equal(3 + 3, rest.Requests.Count); // then one try and two retries
    }

    [Fact]
    public async Task Client_errors_fail_at_once_with_discords_code_and_message()
    {
        await using var rest = await FakeRest.StartAsync();
        rest.Respond = _ => new FakeResponse(404, """{"message":"Unknown interaction","code":10062}""");
        var error = await Assert.ThrowsAsync<DiscordApiException>(() => Client(rest).EditOriginalResponseAsync("tok", new JsonObject { ["content"] = "x" }, CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, error.Status);
        Assert.Equal(10062, error.Code);
        Assert.Contains("Unknown interaction", error.Message);
        Assert.Single(rest.Requests);
    }

    [Fact]
    public async Task Rate_limit_still_hit_after_all_retries_throws_instead_of_dropping()
    {
        await using var rest = await FakeRest.StartAsync();
        rest.Respond = _ => new FakeResponse(429, """{"message":"slow down","retry_after":0.01,"global":false}""", new() { ["X-RateLimit-Scope"] = "user" });
        var error = await Assert.ThrowsAsync<DiscordRateLimitedException>(() => Client(rest, maxRetries: 2).SendAsync(HttpMethod.Post, "/channels/1/messages", new JsonObject(), CancellationToken.None));
        Assert.Equal("user", error.Scope);
        Assert.Equal(3, rest.Requests.Count);
    }

    [Fact]
    public async Task Gateway_bot_is_read_and_commands_are_registered_by_bulk_overwrite()
    {
        await using var rest = await FakeRest.StartAsync();
        rest.Respond = r => r.Path.EndsWith("/gateway/bot")
            ? new FakeResponse(200, """{"url":"wss://gateway.example","shards":3,"session_start_limit":{"total":1000,"remaining":998,"reset_after":14400000,"max_concurrency":2}}""")
            : new FakeResponse(200, "[]");
        var client = Client(rest);
        var info = await client.GetGatewayBotAsync(CancellationToken.None);
        Assert.Equal(new GatewayBotInfo("wss://gateway.example", 3, new SessionStartLimit(1000, 998, TimeSpan.FromHours(4), 2)), info);

        await client.BulkOverwriteGlobalCommandsAsync(new DiscordCommandCatalog(CoreCommands.All(), includeModelCommands: true).ToJson(), CancellationToken.None);
        var put = rest.Matching("PUT", "/commands").Single();
        Assert.Equal("/api/v10/applications/42/commands", put.Path);
        Assert.Equal("Bot test-token", put.Headers["Authorization"]);
        Assert.StartsWith("DiscordBot (", put.Headers["User-Agent"]);
        var commands = put.Json!.AsArray();
        var names = commands.Select(c => (string)c!["name"]!).ToArray();
        // Every command of the core with a menu entry (so /start, which has none, is not among them), and the context menu.
        Assert.Equal(new[] { "tweet", "detect", "game", "stats", "top", "help", "privacy", "forget", "review", "mods", DiscordCommandCatalog.WhoWroteThis, "retrain", "promote", "rollback" }.Order(),
            names.Order());
        var menu = commands.Single(c => (string)c!["name"]! == DiscordCommandCatalog.WhoWroteThis)!;
        Assert.Equal(3, (int)menu["type"]!);
        Assert.Equal("", (string)menu["description"]!);
        foreach (var c in commands.Where(c => (int)c!["type"]! == 1))
        {
            string name = (string)c!["name"]!, description = (string)c["description"]!;
            Assert.Matches("^[-_a-z0-9]{1,32}$", name);
            Assert.InRange(description.Length, 1, 100);
        }
        Assert.Equal("8192", (string)commands.Single(c => (string)c!["name"]! == "review")!["default_member_permissions"]!);
    }

    [Theory]
    [InlineData("GET", "/channels/123/messages/456", "GET /channels/{channels}/messages/:id", "/123")]
    [InlineData("PATCH", "/webhooks/42/secret-token/messages/@original", "PATCH /webhooks/{webhooks}/{webhooks}/messages/@original", "/42/t")]
    [InlineData("PUT", "/applications/42/commands", "PUT /applications/:id/commands", "")]
    public void Routes_keep_major_parameters_apart_and_never_leak_tokens(string method, string path, string template, string majorPrefix)
    {
        var route = RateLimitRoute.For(new HttpMethod(method), path);
        Assert.Equal(template, route.Template);
        Assert.StartsWith(majorPrefix, route.Major);
        Assert.DoesNotContain("secret-token", route.Major);
    }
}
