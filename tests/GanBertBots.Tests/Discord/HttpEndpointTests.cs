using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord.Http;
using NSec.Cryptography;

namespace GanBertBots.Tests.Discord;

/// <summary>A clock stopped at one instant (signature freshness is checked against it).</summary>
sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

public sealed class HttpEndpointTests
{
    // RFC 8032 section 7.1, TEST 2 key pair; the signature below was made with an independent implementation
    // (OpenSSL through Python's cryptography package) over "1700000000" + {"type":1}.
    const string Rfc8032PublicKey = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    const string KnownSignature = "f469ecef789749220e905777fb1f6bc03b827ddd6097c3fc0a7924131c221ab14abed319656685a311beeb741a33ee88a5e14858e3aa0c3d1efc66804188b00e";

    [Fact]
    public void Verifier_accepts_a_known_answer_signature_and_rejects_any_change()
    {
        var verifier = new InteractionSignatureVerifier(Rfc8032PublicKey, TimeSpan.FromMinutes(5), new FixedClock(DateTimeOffset.FromUnixTimeSeconds(1700000030)));
        byte[] body = Encoding.UTF8.GetBytes("""{"type":1}""");
        Assert.Null(verifier.Check(KnownSignature, "1700000000", body));
        Assert.Equal("signature does not verify", verifier.Check(KnownSignature, "1700000001", body));
        Assert.Equal("signature does not verify", verifier.Check(KnownSignature, "1700000000", Encoding.UTF8.GetBytes("""{"type":2}""")));
        Assert.Equal("signature does not verify", verifier.Check("0" + KnownSignature[1..], "1700000000", body));
        Assert.Contains("missing", verifier.Check(null, "1700000000", body));
        Assert.Contains("hex", verifier.Check("zz" + KnownSignature[2..], "1700000000", body));
        // Authentic but replayed ten minutes later.
        var later = new InteractionSignatureVerifier(Rfc8032PublicKey, TimeSpan.FromMinutes(5), new FixedClock(DateTimeOffset.FromUnixTimeSeconds(1700000600)));
        Assert.Contains("away from our clock", later.Check(KnownSignature, "1700000000", body));
    }

    [Theory]
    [InlineData("")]
    [InlineData("xyz")]
    [InlineData("3d4017c3e843895a92b70aa74d1b7ebc")] // 16 bytes
    public void A_malformed_public_key_is_a_clear_configuration_error(string key)
    {
        var error = Assert.Throws<InvalidOperationException>(() => new InteractionSignatureVerifier(key, TimeSpan.FromMinutes(5)));
        Assert.Contains("Discord:PublicKey", error.Message);
    }

    /// <summary>The interactions endpoint on a local Kestrel, in front of the interaction rig, verifying a test-made key.</summary>
    sealed class Endpoint : FakeServer
    {
        public required InteractionTests.Rig Rig { get; init; }
        public required Key Key { get; init; }
        public HttpClient Http { get; } = new();
        public string Url => BaseUrl + "/discord/interactions";

        public static async Task<Endpoint> StartAsync()
        {
            var rig = await InteractionTests.RigAsync();
            var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
            string publicHex = Convert.ToHexStringLower(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
            var endpoint = new Endpoint { Rig = rig, Key = key };
            endpoint.App.MapDiscordInteractions("/discord/interactions", rig.Handler, new InteractionSignatureVerifier(publicHex, TimeSpan.FromMinutes(5)));
            await endpoint.ListenAsync();
            return endpoint;
        }

        public async Task<HttpResponseMessage> PostAsync(string body, Key? signWith = null, string? timestamp = null, bool sign = true)
        {
            timestamp ??= DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var request = new HttpRequestMessage(HttpMethod.Post, Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (sign)
            {
                byte[] signature = SignatureAlgorithm.Ed25519.Sign(signWith ?? Key, Encoding.UTF8.GetBytes(timestamp + body));
                request.Headers.Add("X-Signature-Ed25519", Convert.ToHexStringLower(signature));
                request.Headers.Add("X-Signature-Timestamp", timestamp);
            }
            return await Http.SendAsync(request);
        }

        public override async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await base.DisposeAsync();
            await Rig.DisposeAsync();
            Key.Dispose();
        }
    }

    [Fact]
    public async Task Ping_with_a_good_signature_gets_pong()
    {
        await using var endpoint = await Endpoint.StartAsync();
        var response = await endpoint.PostAsync(Payloads.Ping().ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"type":1}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Bad_missing_or_stale_signatures_get_401_and_nothing_runs()
    {
        await using var endpoint = await Endpoint.StartAsync();
        using var stranger = Key.Create(SignatureAlgorithm.Ed25519);
        string command = Payloads.Slash("detect", null, ("text", "hello")).ToJsonString();
        var wrongKey = await endpoint.PostAsync(command, signWith: stranger);
        var unsigned = await endpoint.PostAsync(command, sign: false);
        var stale = await endpoint.PostAsync(command, timestamp: DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        foreach (var response in new[] { wrongKey, unsigned, stale })
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        // Signed over one body, sent with another.
        var tampered = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new StringContent(command.Replace("hello", "HELLO"), Encoding.UTF8, "application/json") };
        string ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        tampered.Headers.Add("X-Signature-Ed25519", Convert.ToHexStringLower(SignatureAlgorithm.Ed25519.Sign(endpoint.Key, Encoding.UTF8.GetBytes(ts + command))));
        tampered.Headers.Add("X-Signature-Timestamp", ts);
        Assert.Equal(HttpStatusCode.Unauthorized, (await endpoint.Http.SendAsync(tampered)).StatusCode);

        Assert.Empty(endpoint.Rig.Conversation.Messages);
        Assert.Empty(endpoint.Rig.Rest.Requests);
    }

    [Fact]
    public async Task Signed_command_is_deferred_in_the_http_answer_and_completed_by_webhook()
    {
        await using var endpoint = await Endpoint.StartAsync();
        var payload = Payloads.Slash("detect", null, ("text", "Forest fire near La Ronge"));
        var response = await endpoint.PostAsync(payload.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"type":5}""", await response.Content.ReadAsStringAsync());
        await Wait.Until(() => endpoint.Rig.Rest.Matching("PATCH", "@original").Length == 1, "the result edit");
        Assert.Empty(endpoint.Rig.Rest.Matching("POST", "/callback")); // the HTTP answer was the callback
        Assert.Equal($"/api/v10/webhooks/42/{(string)payload["token"]!}/messages/@original", endpoint.Rig.Rest.Matching("PATCH", "@original")[0].Path);
    }

    [Fact]
    public async Task A_signed_interaction_posted_again_is_refused_and_runs_once()
    {
        await using var endpoint = await Endpoint.StartAsync();
        string payload = Payloads.Slash("detect", null, ("text", "Forest fire near La Ronge")).ToJsonString();
        Assert.Equal(HttpStatusCode.OK, (await endpoint.PostAsync(payload)).StatusCode);
        for (int replay = 0; replay < 4; replay++)
            Assert.Equal(HttpStatusCode.BadRequest, (await endpoint.PostAsync(payload)).StatusCode); // same id, fresh signature
        await Wait.Until(() => endpoint.Rig.Rest.Matching("PATCH", "@original").Length == 1, "the one result edit");
        await Task.Delay(300);
        Assert.Single(endpoint.Rig.Rest.Matching("PATCH", "@original"));
    }

    [Fact]
    public async Task Signed_mutated_interactions_get_an_answer_never_a_server_error_and_the_endpoint_keeps_working()
    {
        await using var endpoint = await Endpoint.StartAsync();
        var random = new Random(23);
        string[] bodies =
        [
            Payloads.Slash("detect", null, ("text", "Forest fire near La Ronge")).ToJsonString(),
            Payloads.Ping().ToJsonString(),
            Payloads.Slash("help", null).ToJsonString(),
        ];
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (int i = 0; i < 300; i++)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(bodies[random.Next(bodies.Length)])!.AsObject();
            node["id"] = (1_000_000 + i).ToString(CultureInfo.InvariantCulture);
            var keys = node.Select(kv => kv.Key).ToList();
            string key = keys[random.Next(keys.Count)];
            switch (random.Next(6))
            {
                case 0: node.Remove(key); break;
                case 1: node[key] = null; break;
                case 2: node[key] = random.Next(); break;
                case 3: node[key] = "s" + random.Next(); break;
                case 4: node[key] = new System.Text.Json.Nodes.JsonArray(1, null); break;
                default: node["type"] = random.Next(-5, 50); break;
            }
            string body = random.Next(10) == 0 ? node.ToJsonString()[..^random.Next(1, 5)] : node.ToJsonString(); // sometimes cut off
            var status = (await endpoint.PostAsync(body)).StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"mutation {i} got {status}: {body}");
        }
        Assert.True(statuses.GetValueOrDefault(HttpStatusCode.BadRequest) > 0, "no mutation was refused: the fuzz is not biting");
        Assert.Equal("""{"type":1}""", await (await endpoint.PostAsync(Payloads.Ping().ToJsonString())).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Signed_but_malformed_interaction_gets_400()
    {
        await using var endpoint = await Endpoint.StartAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await endpoint.PostAsync("{not json")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await endpoint.PostAsync("""{"type":2,"id":"1"}""")).StatusCode);
    }
}
