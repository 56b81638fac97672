using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Discord.Gateway;
using GanBertBots.Bots.Discord.Interactions;
using GanBertBots.Bots.Discord.Rest;

namespace GanBertBots.Tests.Discord;

/// <summary>Records what reaches the conversation and answers with a reply the test chose.</summary>
sealed class RecordingConversation : IDiscordConversation
{
    public ConcurrentQueue<DiscordCommandRequest> Commands { get; } = new();
    public ConcurrentQueue<DiscordButtonRequest> Buttons { get; } = new();
    public Func<DiscordCommandRequest, DiscordReply> OnCommand { get; set; } = r => new DiscordReply($"{r.Command}: {r.TargetText ?? string.Join(",", r.Options.Values)}");
    public Func<DiscordButtonRequest, DiscordReply> OnButton { get; set; } = r => new DiscordReply($"pressed {r.Data}");

    public Task<DiscordReply> HandleCommandAsync(DiscordCommandRequest request, CancellationToken cancellation)
    {
        Commands.Enqueue(request);
        return Task.FromResult(OnCommand(request));
    }

    public Task<DiscordReply> HandleButtonAsync(DiscordButtonRequest request, CancellationToken cancellation)
    {
        Buttons.Enqueue(request);
        return Task.FromResult(OnButton(request));
    }
}

/// <summary>Interaction payloads shaped like Discord's (docs/interactions/receiving-and-responding).</summary>
static class Payloads
{
    static int _next = 1000;

    public static JsonObject Member(string userId, string permissions = "0", params string[] roles) => new()
    {
        ["user"] = new JsonObject { ["id"] = userId, ["username"] = "user" + userId },
        ["roles"] = new JsonArray(roles.Select(r => (JsonNode)JsonValue.Create(r)!).ToArray()),
        ["permissions"] = permissions,
    };

    static JsonObject Base(int type, JsonObject? member, JsonObject? data, JsonObject? user = null)
    {
        int id = Interlocked.Increment(ref _next);
        var o = new JsonObject
        {
            ["id"] = id.ToString(),
            ["application_id"] = "42",
            ["type"] = type,
            ["token"] = "itoken" + id,
            ["version"] = 1,
        };
        if (member is not null) { o["guild_id"] = "500"; o["channel_id"] = "600"; o["member"] = member; }
        if (user is not null) { o["channel_id"] = "601"; o["user"] = user; }
        if (data is not null) o["data"] = data;
        return o;
    }

    public static JsonObject Ping() => Base(1, null, null);

    public static JsonObject Slash(string name, JsonObject? member = null, params (string Name, string Value)[] options) =>
        Base(2, member ?? Member("7"), new JsonObject
        {
            ["id"] = "900",
            ["name"] = name,
            ["type"] = 1,
            ["options"] = new JsonArray(options.Select(o => (JsonNode)new JsonObject { ["name"] = o.Name, ["type"] = 3, ["value"] = o.Value }).ToArray()),
        });

    public static JsonObject MessageMenu(string text, JsonObject? member = null) =>
        Base(2, member ?? Member("7"), new JsonObject
        {
            ["id"] = "901",
            ["name"] = DiscordCommandCatalog.WhoWroteThis,
            ["type"] = 3,
            ["target_id"] = "777",
            ["resolved"] = new JsonObject
            {
                ["messages"] = new JsonObject
                {
                    ["777"] = new JsonObject { ["id"] = "777", ["content"] = text, ["author"] = new JsonObject { ["id"] = "8" } },
                },
            },
        });

    public static JsonObject Button(string customId, JsonObject? member = null, JsonObject? dmUser = null)
    {
        var o = Base(3, dmUser is null ? member ?? Member("7") : null, new JsonObject { ["custom_id"] = customId, ["component_type"] = 2 }, dmUser);
        o["message"] = new JsonObject { ["id"] = "321", ["content"] = "Verdict: chatGPT (0.91)" };
        return o;
    }
}

public sealed class InteractionTests
{
    const string SigningKey = "test-button-key";

    sealed class Rig : IAsyncDisposable
    {
        public required FakeRest Rest { get; init; }
        public required DiscordInteractionHandler Handler { get; init; }
        public required RecordingConversation Conversation { get; init; }
        public required ButtonIdSigner Signer { get; init; }
        public async ValueTask DisposeAsync()
        {
            await Handler.DisposeAsync();
            await Rest.DisposeAsync();
        }
    }

    static async Task<Rig> RigAsync()
    {
        var rest = await FakeRest.StartAsync();
        var options = new DiscordOptions
        {
            BotToken = "test-token",
            ApplicationId = "42",
            ApiBaseUrl = rest.BaseUrl + "/api/v10",
            ButtonSigningKey = SigningKey,
            ModeratorRoleIds = ["55"],
            ModeratorUserIds = ["99"],
            RestRetryBaseDelay = TimeSpan.FromMilliseconds(10),
        };
        var conversation = new RecordingConversation();
        var signer = new ButtonIdSigner(options);
        var handler = new DiscordInteractionHandler(new DiscordRestClient(new HttpClient(), options), conversation,
            new DiscordCommandCatalog(includeModelCommands: true), signer, new ModeratorPolicy(options));
        return new Rig { Rest = rest, Handler = handler, Conversation = conversation, Signer = signer };
    }

    static GatewayDispatch Dispatch(JsonObject interaction) => new(0, "INTERACTION_CREATE", 12, interaction);

    [Fact]
    public async Task Slash_command_is_deferred_then_answered_by_editing_original_and_a_follow_up()
    {
        await using var rig = await RigAsync();
        rig.Conversation.OnCommand = r => new DiscordReply($"Verdict for '{r.Options["text"]}': human (0.87)",
            [new DiscordButton("Label: human", "label:12:human"), new DiscordButton("Label: AI", "label:12:ai", ModeratorOnly: true)])
        {
            FollowUps = [new DiscordReply("Details: @everyone see the report", Ephemeral: true)],
        };
        var payload = Payloads.Slash("detect", null, ("text", "Forest fire near La Ronge"));
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(payload), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("POST", "/webhooks/42/").Length == 1, "the follow-up");

        string id = (string)payload["id"]!, token = (string)payload["token"]!;
        var calls = rig.Rest.Requests.ToArray();
        Assert.Equal(3, calls.Length);
        // 1. The deferred response (type 5) through the callback endpoint.
        Assert.Equal(("POST", $"/api/v10/interactions/{id}/{token}/callback"), (calls[0].Method, calls[0].Path));
        Assert.Equal(5, (int)calls[0].Json!["type"]!);
        Assert.Null(calls[0].Json!["data"]); // /detect answers publicly
        // 2. The result replaces "thinking…".
        Assert.Equal(("PATCH", $"/api/v10/webhooks/42/{token}/messages/@original"), (calls[1].Method, calls[1].Path));
        Assert.Equal("Verdict for 'Forest fire near La Ronge': human (0.87)", (string)calls[1].Json!["content"]!);
        var buttons = calls[1].Json!["components"]![0]!["components"]!.AsArray();
        Assert.Equal(2, buttons.Count);
        Assert.All(buttons, b => Assert.InRange(((string)b!["custom_id"]!).Length, 1, 100));
        Assert.Equal(new ButtonPayload("label:12:human", false), rig.Signer.Verify((string)buttons[0]!["custom_id"]!));
        Assert.Equal(new ButtonPayload("label:12:ai", true), rig.Signer.Verify((string)buttons[1]!["custom_id"]!));
        Assert.Equal("[]", calls[1].Json!["allowed_mentions"]!["parse"]!.ToJsonString());
        // 3. The follow-up, ephemeral (flag 64).
        Assert.Equal(("POST", $"/api/v10/webhooks/42/{token}"), (calls[2].Method, calls[2].Path));
        Assert.Equal(64, (int)calls[2].Json!["flags"]!);

        var request = Assert.Single(rig.Conversation.Commands);
        Assert.Equal(new DiscordActor("7", "user7", "500", "600", false), request.Actor);
    }

    [Fact]
    public async Task Who_wrote_this_runs_detect_on_the_chosen_message()
    {
        await using var rig = await RigAsync();
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(Payloads.MessageMenu("our town is flooding, send help")), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", "@original").Length == 1, "the answer");
        var request = Assert.Single(rig.Conversation.Commands);
        Assert.Equal("detect", request.Command);
        Assert.Equal("our town is flooding, send help", request.TargetText);
        Assert.Equal("detect: our town is flooding, send help", (string)rig.Rest.Matching("PATCH", "@original")[0].Json!["content"]!);
    }

    [Fact]
    public async Task Who_wrote_this_on_a_message_without_text_is_refused_plainly()
    {
        await using var rig = await RigAsync();
        var accepted = rig.Handler.Accept(Payloads.MessageMenu(""));
        Assert.Equal(4, (int)accepted.Response["type"]!);
        Assert.Equal(64, (int)accepted.Response["data"]!["flags"]!);
        Assert.Null(accepted.Work);
    }

    [Fact]
    public async Task Moderator_screens_are_ephemeral_and_refused_to_others()
    {
        await using var rig = await RigAsync();
        var refused = rig.Handler.Accept(Payloads.Slash("review", Payloads.Member("7", "0")));
        Assert.Equal(4, (int)refused.Response["type"]!);
        Assert.Equal(64, (int)refused.Response["data"]!["flags"]!);
        Assert.Contains("moderators", (string)refused.Response["data"]!["content"]!);
        Assert.Null(refused.Work);

        var allowed = rig.Handler.Accept(Payloads.Slash("review", Payloads.Member("7", "0", "55")));
        Assert.Equal(5, (int)allowed.Response["type"]!);
        Assert.Equal(64, (int)allowed.Response["data"]!["flags"]!); // deferred ephemeral: the result stays private
        Assert.NotNull(allowed.Work);
        Assert.Empty(rig.Conversation.Commands); // Accept never runs the work itself
    }

    [Fact]
    public async Task Button_press_is_deferred_as_update_and_answered_on_the_source_message()
    {
        await using var rig = await RigAsync();
        string customId = rig.Signer.Sign("label:12:human", moderatorOnly: false);
        var payload = Payloads.Button(customId);
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(payload), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", "@original").Length == 1, "the update");
        Assert.Equal(6, (int)rig.Rest.Matching("POST", "/callback")[0].Json!["type"]!);
        var press = Assert.Single(rig.Conversation.Buttons);
        Assert.Equal("label:12:human", press.Data);
        Assert.Equal("321", press.MessageId);
        Assert.Equal("pressed label:12:human", (string)rig.Rest.Matching("PATCH", "@original")[0].Json!["content"]!);
    }

    [Fact]
    public async Task Forged_or_altered_custom_ids_are_refused_and_never_reach_the_conversation()
    {
        await using var rig = await RigAsync();
        string genuine = rig.Signer.Sign("label:12:human", moderatorOnly: false);
        var forgeries = new[]
        {
            "label:12:ai",                                             // unsigned
            genuine.Replace("human", "aiaaa"),                         // data changed, tag kept
            "m" + genuine[1..],                                        // moderator flag flipped
            genuine[..^1] + (genuine[^1] == 'A' ? 'B' : 'A'),          // tag changed
            new ButtonIdSigner(new DiscordOptions { ButtonSigningKey = "another key" }).Sign("label:12:ai", false), // other key
        };
        foreach (var forged in forgeries)
        {
            var accepted = rig.Handler.Accept(Payloads.Button(forged));
            Assert.Equal(4, (int)accepted.Response["type"]!);
            Assert.Equal(64, (int)accepted.Response["data"]!["flags"]!);
            Assert.Contains("not valid", (string)accepted.Response["data"]!["content"]!);
            Assert.Null(accepted.Work);
        }
        Assert.Empty(rig.Conversation.Buttons);
    }

    [Fact]
    public async Task Moderator_buttons_are_refused_to_members_without_the_role_permission_or_id()
    {
        await using var rig = await RigAsync();
        string labelAsModerator = rig.Signer.Sign("label:12:ai", moderatorOnly: true);

        var refused = rig.Handler.Accept(Payloads.Button(labelAsModerator, Payloads.Member("7", (((1UL << 13) - 1) & ~(1UL << 3)).ToString(), "56")));
        Assert.Equal(4, (int)refused.Response["type"]!);
        Assert.Contains("Only moderators", (string)refused.Response["data"]!["content"]!);
        var refusedInDm = rig.Handler.Accept(Payloads.Button(labelAsModerator, dmUser: new JsonObject { ["id"] = "7", ["username"] = "u" }));
        Assert.Equal(4, (int)refusedInDm.Response["type"]!);

        var byPermission = rig.Handler.Accept(Payloads.Button(labelAsModerator, Payloads.Member("7", (1UL << 13).ToString())));
        var byRole = rig.Handler.Accept(Payloads.Button(labelAsModerator, Payloads.Member("7", "0", "55")));
        var byUserIdInDm = rig.Handler.Accept(Payloads.Button(labelAsModerator, dmUser: new JsonObject { ["id"] = "99", ["username"] = "mod" }));
        var byAdministrator = rig.Handler.Accept(Payloads.Button(labelAsModerator, Payloads.Member("7", (1UL << 3).ToString())));
        foreach (var ok in new[] { byPermission, byRole, byUserIdInDm, byAdministrator })
        {
            Assert.Equal(6, (int)ok.Response["type"]!);
            rig.Handler.Start(ok);
        }
        await Wait.Until(() => rig.Conversation.Buttons.Count == 4, "the four moderator presses");
        Assert.All(rig.Conversation.Buttons, b => Assert.True(b.Actor.IsModerator));
        Assert.All(rig.Conversation.Buttons, b => Assert.Equal("label:12:ai", b.Data));
    }

    [Fact]
    public async Task Conversation_failure_still_answers_the_user_instead_of_leaving_thinking()
    {
        await using var rig = await RigAsync();
        rig.Conversation.OnCommand = _ => throw new InvalidOperationException("model not loaded");
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(Payloads.Slash("tweet")), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", "@original").Length == 1, "the apology");
        Assert.Contains("went wrong", (string)rig.Rest.Matching("PATCH", "@original")[0].Json!["content"]!);
    }

    [Fact]
    public async Task Ping_gets_pong_and_malformed_payloads_are_rejected_clearly()
    {
        await using var rig = await RigAsync();
        Assert.Equal("""{"type":1}""", rig.Handler.Accept(Payloads.Ping()).Response.ToJsonString());
        var noUser = Payloads.Slash("tweet");
        noUser.Remove("member");
        Assert.Contains("member.user", Assert.Throws<InvalidInteractionException>(() => rig.Handler.Accept(noUser)).Message);
        Assert.Contains("token", Assert.Throws<InvalidInteractionException>(() => rig.Handler.Accept(new JsonObject { ["id"] = "1", ["application_id"] = "42", ["type"] = 1 })).Message);
        Assert.Throws<InvalidInteractionException>(() => rig.Handler.Accept(JsonValue.Create(3)));
        Assert.Contains("unknown", rig.Handler.Accept(Payloads.Slash("nope")).Response["data"]!["content"]!.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Long_replies_and_labels_are_cut_to_discords_limits()
    {
        var options = new DiscordOptions { ButtonSigningKey = SigningKey, ApplicationId = "42" };
        var handler = new DiscordInteractionHandler(new DiscordRestClient(new HttpClient(), options), new RecordingConversation(),
            new DiscordCommandCatalog(false), new ButtonIdSigner(options), new ModeratorPolicy(options));
        var message = handler.Message(new DiscordReply(new string('a', 5000), Enumerable.Range(0, 7).Select(i => new DiscordButton(new string('b', 200), "d" + i)).ToArray()), followUp: false);
        Assert.Equal(2000, ((string)message["content"]!).Length);
        Assert.Equal([5, 2], message["components"]!.AsArray().Select(r => r!["components"]!.AsArray().Count));
        Assert.Equal(80, ((string)message["components"]![0]!["components"]![0]!["label"]!).Length);
        Assert.Throws<ArgumentException>(() => handler.Message(new DiscordReply("x", Enumerable.Range(0, 26).Select(i => new DiscordButton("l", "d")).ToArray()), false));
    }

    [Fact]
    public void Signed_custom_ids_fit_in_100_characters_and_oversized_data_is_refused()
    {
        var signer = new ButtonIdSigner(new DiscordOptions { ButtonSigningKey = SigningKey });
        string longest = signer.Sign(new string('x', ButtonIdSigner.MaxDataLength), true);
        Assert.Equal(100, longest.Length);
        Assert.Equal(new ButtonPayload(new string('x', ButtonIdSigner.MaxDataLength), true), signer.Verify(longest));
        Assert.Throws<ArgumentException>(() => signer.Sign(new string('x', ButtonIdSigner.MaxDataLength + 1), false));
        // Every single-character change breaks the signature.
        string id = signer.Sign("label:12:human", false);
        for (int i = 0; i < id.Length; i++)
        {
            var altered = id.ToCharArray();
            altered[i] = altered[i] == 'z' ? 'y' : 'z';
            Assert.Null(signer.Verify(new string(altered)));
        }
        // The key derived from the bot token is stable (replicas agree) and differs per token.
        var a = new ButtonIdSigner(new DiscordOptions { BotToken = "one" }).Sign("d", false);
        Assert.Equal(a, new ButtonIdSigner(new DiscordOptions { BotToken = "one" }).Sign("d", false));
        Assert.NotEqual(a, new ButtonIdSigner(new DiscordOptions { BotToken = "two" }).Sign("d", false));
    }
}
