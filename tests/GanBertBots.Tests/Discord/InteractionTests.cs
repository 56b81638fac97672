using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Discord.Gateway;
using GanBertBots.Bots.Discord.Interactions;
using GanBertBots.Bots.Discord.Rest;
using GanBertBots.Conversation;

namespace GanBertBots.Tests.Discord;

/// <summary>
/// Stands in for the conversation core: records what the adapter hands it and answers through the adapter's
/// IChatOutput the way the core does (send, edit, acknowledge), with payloads from the real shared codec.
/// </summary>
sealed class RecordingConversation(ButtonPayloadCodec codec) : IConversation
{
    public ConcurrentQueue<IncomingMessage> Messages { get; } = new();
    public ConcurrentQueue<ButtonPress> Presses { get; } = new();
    public Func<IncomingMessage, IChatOutput, Task>? OnMessage { get; set; }
    public Func<ButtonPress, IChatOutput, Task>? OnPress { get; set; }

    public async Task HandleMessageAsync(IncomingMessage message, IChatOutput output, CancellationToken cancellationToken)
    {
        Messages.Enqueue(message);
        if (OnMessage is not null) { await OnMessage(message, output); return; }
        await output.SendAsync(new Reply
        {
            Text = $"{message.Text} | {message.ReplyToText}",
            Buttons = [[new ReplyButton("Right", codec.Encode(new ButtonAction(ButtonKind.VerdictRight, 12, "human"), message.Chat))]],
        }, cancellationToken);
    }

    public async Task HandleButtonAsync(ButtonPress press, IChatOutput output, CancellationToken cancellationToken)
    {
        Presses.Enqueue(press);
        if (OnPress is not null) { await OnPress(press, output); return; }
        await output.AcknowledgeButtonAsync("Thanks, noted!", cancellationToken);
        await output.EditAsync(new SentReply(press.Chat.ChatId, press.MessageId!), Reply.Plain("Labelled: human"), cancellationToken);
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
    internal const string Secret = "discord-test-callback-secret";
    internal static readonly ChatPlace GuildChannel = new("discord", "600", ChatKind.Group);

    internal sealed class Rig : IAsyncDisposable
    {
        public required FakeRest Rest { get; init; }
        public required DiscordInteractionHandler Handler { get; init; }
        public required RecordingConversation Conversation { get; init; }
        public required ButtonPayloadCodec Codec { get; init; }
        public async ValueTask DisposeAsync()
        {
            await Handler.DisposeAsync();
            await Rest.DisposeAsync();
        }
    }

    internal static DiscordOptions Options(FakeRest rest) => new()
    {
        BotToken = "test-token",
        ApplicationId = "42",
        ApiBaseUrl = rest.BaseUrl + "/api/v10",
        ModeratorRoleIds = ["55"],
        ModeratorUserIds = ["99"],
        RestRetryBaseDelay = TimeSpan.FromMilliseconds(10),
    };

    /// <summary>The core's policy as the host feeds it: Bots:Moderators plus Discord's moderator users (99) and roles (55).</summary>
    internal static ModeratorPolicy Moderators() => new(["discord:98", "telegram:7", "discord:99"], ["discord:55"]);

    internal static async Task<Rig> RigAsync(Func<ButtonPayloadCodec, IConversation>? core = null)
    {
        var rest = await FakeRest.StartAsync();
        int followUps = 0;
        rest.Respond = r => r.Method == "POST" && r.Path.StartsWith("/api/v10/webhooks/")
            ? new FakeResponse(200, $$"""{"id":"m{{Interlocked.Increment(ref followUps)}}"}""")
            : new FakeResponse(r.Method == "POST" ? 204 : 200);
        var options = Options(rest);
        var codec = new ButtonPayloadCodec(Secret);
        var recording = new RecordingConversation(codec);
        var moderators = Moderators();
        var handler = new DiscordInteractionHandler(new DiscordRestClient(new HttpClient(), options), core?.Invoke(codec) ?? recording,
            new ButtonCheck(codec, moderators, [ButtonKind.ReviewLabel, ButtonKind.ReviewSkip]),
            new DiscordCommandCatalog(CoreCommands.All(), includeModelCommands: true), moderators);
        return new Rig { Rest = rest, Handler = handler, Conversation = recording, Codec = codec };
    }

    static GatewayDispatch Dispatch(JsonObject interaction) => new(0, "INTERACTION_CREATE", 12, interaction);

    [Fact]
    public async Task Slash_command_is_deferred_then_answered_by_editing_original_and_follow_ups()
    {
        await using var rig = await RigAsync();
        rig.Conversation.OnMessage = async (m, output) =>
        {
            var first = await output.SendAsync(new Reply
            {
                Text = "Verdict: human (0.87)",
                Buttons = [[new ReplyButton("✅ Right", rig.Codec.Encode(new ButtonAction(ButtonKind.VerdictRight, 12, "human"), m.Chat)),
                            new ReplyButton("❌ Wrong", rig.Codec.Encode(new ButtonAction(ButtonKind.VerdictWrong, 12), m.Chat))]],
            }, CancellationToken.None);
            var second = await output.SendAsync(Reply.Plain("Details: @everyone look"), CancellationToken.None);
            await output.EditAsync(second, Reply.Plain("Details (final)"), CancellationToken.None);
            Assert.Equal("@original", first.MessageId);
            Assert.Equal("m1", second.MessageId);
        };
        var payload = Payloads.Slash("detect", null, ("text", "Forest fire near La Ronge"));
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(payload), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Requests.Count == 4, "the answer, the follow-up and its edit");

        string id = (string)payload["id"]!, token = (string)payload["token"]!;
        var calls = rig.Rest.Requests.ToArray();
        // 1. The deferred response (type 5) through the callback endpoint, public for /detect.
        Assert.Equal(("POST", $"/api/v10/interactions/{id}/{token}/callback"), (calls[0].Method, calls[0].Path));
        Assert.Equal("""{"type":5}""", calls[0].Body);
        // 2. The result replaces "thinking…", with the core's signed payloads as custom_ids.
        Assert.Equal(("PATCH", $"/api/v10/webhooks/42/{token}/messages/@original"), (calls[1].Method, calls[1].Path));
        Assert.Equal("Verdict: human (0.87)", (string)calls[1].Json!["content"]!);
        var buttons = calls[1].Json!["components"]![0]!["components"]!.AsArray();
        Assert.Equal(2, buttons.Count);
        Assert.Equal(PayloadCheck.Valid, rig.Codec.TryDecode((string)buttons[0]!["custom_id"]!, GuildChannel, out var decoded));
        Assert.Equal(new ButtonAction(ButtonKind.VerdictRight, 12, "human"), decoded);
        Assert.Equal("[]", calls[1].Json!["allowed_mentions"]!["parse"]!.ToJsonString());
        // 3. A second reply is a follow-up, 4. edited by its own id.
        Assert.Equal(("POST", $"/api/v10/webhooks/42/{token}"), (calls[2].Method, calls[2].Path));
        Assert.Equal(("PATCH", $"/api/v10/webhooks/42/{token}/messages/m1"), (calls[3].Method, calls[3].Path));

        var message = Assert.Single(rig.Conversation.Messages);
        Assert.Equal("/detect Forest fire near La Ronge", message.Text);
        Assert.Equal(new ChatUser("discord", "7", "user7"), message.User);
        Assert.Equal(GuildChannel, message.Chat);
        Assert.False(message.IsChatAdmin);
    }

    [Fact]
    public async Task Who_wrote_this_runs_detect_on_the_chosen_message()
    {
        await using var rig = await RigAsync();
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(Payloads.MessageMenu("our town is flooding, send help")), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", "@original").Length == 1, "the answer");
        var message = Assert.Single(rig.Conversation.Messages);
        Assert.Equal("/detect", message.Text);
        Assert.Equal("our town is flooding, send help", message.ReplyToText);
        Assert.Equal("777", message.ReplyToMessageId);
        Assert.Equal("/detect | our town is flooding, send help", (string)rig.Rest.Matching("PATCH", "@original")[0].Json!["content"]!);
    }

    [Fact]
    public async Task Who_wrote_this_answers_privately_by_default()
    {
        await using var rig = await RigAsync();
        Assert.Equal("""{"type":5,"data":{"flags":64}}""", rig.Handler.Accept(Payloads.MessageMenu("our town is flooding")).Response.ToJsonString());
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
        Assert.Equal("""{"type":5,"data":{"flags":64}}""", allowed.Response.ToJsonString()); // deferred ephemeral: the result stays private
        Assert.Empty(rig.Conversation.Messages); // Accept never runs the work itself
        rig.Handler.Start(allowed);
        await Wait.Until(() => rig.Conversation.Messages.Count == 1, "the /review request");
        Assert.True(Moderators().IsModerator(rig.Conversation.Messages.Single())); // the role reached the core's policy
    }

    [Fact]
    public async Task Button_press_is_deferred_as_update_then_edits_its_message_and_notices_privately()
    {
        await using var rig = await RigAsync();
        string customId = rig.Codec.Encode(new ButtonAction(ButtonKind.VerdictRight, 12, "human"), GuildChannel);
        var payload = Payloads.Button(customId);
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(payload), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Requests.Count == 3, "the notice and the edit");
        string token = (string)payload["token"]!;
        var calls = rig.Rest.Requests.ToArray();
        Assert.Equal("""{"type":6}""", calls[0].Body);
        Assert.Equal(("POST", $"/api/v10/webhooks/42/{token}"), (calls[1].Method, calls[1].Path));
        Assert.Equal(64, (int)calls[1].Json!["flags"]!);
        Assert.Equal("Thanks, noted!", (string)calls[1].Json!["content"]!);
        Assert.Equal(("PATCH", $"/api/v10/webhooks/42/{token}/messages/@original"), (calls[2].Method, calls[2].Path)); // the button's message
        var press = Assert.Single(rig.Conversation.Presses);
        Assert.Equal(customId, press.Payload);
        Assert.Equal("321", press.MessageId);
    }

    [Fact]
    public async Task Replies_to_a_button_on_an_ephemeral_moderator_screen_stay_private()
    {
        await using var rig = await RigAsync();
        rig.Conversation.OnPress = (p, output) => output.SendAsync(Reply.Plain("Next text to review: …"), CancellationToken.None);
        var payload = Payloads.Button(rig.Codec.Encode(new ButtonAction(ButtonKind.ReviewSkip, 12), GuildChannel), Payloads.Member("7", "0", "55"));
        payload["message"]!["flags"] = 64;
        rig.Handler.Start(rig.Handler.Accept(payload));
        await Wait.Until(() => rig.Rest.Requests.Count == 1, "the next review item");
        Assert.Equal(64, (int)rig.Rest.Requests.Single().Json!["flags"]!);
    }

    [Fact]
    public async Task Forged_altered_or_misplaced_custom_ids_are_refused_and_never_reach_the_conversation()
    {
        await using var rig = await RigAsync();
        string genuine = rig.Codec.Encode(new ButtonAction(ButtonKind.VerdictRight, 12, "human"), GuildChannel);
        var forgeries = new[]
        {
            "rc:human",                                                                   // unsigned
            genuine.Replace(":human", ":dolly"),                                          // data changed, signature kept
            genuine[..^1] + (genuine[^1] == 'A' ? 'B' : 'A'),                             // signature changed
            rig.Codec.Encode(new ButtonAction(ButtonKind.VerdictRight, 12, "human"), new ChatPlace("discord", "601", ChatKind.Group)), // another channel
            new ButtonPayloadCodec("another-secret-of-16+").Encode(new ButtonAction(ButtonKind.VerdictRight, 12, "human"), GuildChannel), // other key
            new string('x', 101),
        };
        foreach (var forged in forgeries)
        {
            var accepted = rig.Handler.Accept(Payloads.Button(forged));
            Assert.Equal(4, (int)accepted.Response["type"]!);
            Assert.Equal(64, (int)accepted.Response["data"]!["flags"]!);
            Assert.Contains("not valid", (string)accepted.Response["data"]!["content"]!);
            Assert.Null(accepted.Work);
        }
        Assert.Empty(rig.Conversation.Presses);
    }

    [Fact]
    public async Task Label_buttons_are_refused_to_non_moderators_and_passed_on_for_moderators()
    {
        await using var rig = await RigAsync();
        string label = rig.Codec.Encode(new ButtonAction(ButtonKind.ReviewLabel, 12, "chatGPT"), GuildChannel);

        // Every permission below MANAGE_MESSAGES except ADMINISTRATOR, and a role that is not a moderator role.
        var refused = rig.Handler.Accept(Payloads.Button(label, Payloads.Member("7", (((1UL << 13) - 1) & ~(1UL << 3)).ToString(), "56")));
        Assert.Equal(4, (int)refused.Response["type"]!);
        Assert.Contains("Only moderators", (string)refused.Response["data"]!["content"]!);

        var byPermission = rig.Handler.Accept(Payloads.Button(label, Payloads.Member("7", (1UL << 13).ToString())));
        var byRole = rig.Handler.Accept(Payloads.Button(label, Payloads.Member("7", "0", "55")));
        var byUserId = rig.Handler.Accept(Payloads.Button(label, Payloads.Member("99")));
        var byCoreModeratorList = rig.Handler.Accept(Payloads.Button(label, Payloads.Member("98")));
        var byAdministrator = rig.Handler.Accept(Payloads.Button(label, Payloads.Member("7", (1UL << 3).ToString())));
        foreach (var ok in new[] { byPermission, byRole, byUserId, byCoreModeratorList, byAdministrator })
        {
            Assert.Equal(6, (int)ok.Response["type"]!);
            rig.Handler.Start(ok);
        }
        await Wait.Until(() => rig.Conversation.Presses.Count == 5, "the five moderator presses");
        Assert.All(rig.Conversation.Presses, p => Assert.True(Moderators().IsModerator(p))); // the core's policy agrees
        Assert.All(rig.Conversation.Presses, p => Assert.Equal(label, p.Payload));
    }

    [Fact]
    public async Task A_core_that_says_nothing_still_replaces_thinking()
    {
        await using var rig = await RigAsync();
        rig.Conversation.OnMessage = (_, _) => Task.CompletedTask;
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(Payloads.Slash("stats")), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", "@original").Length == 1, "the fallback answer");
        Assert.Equal("Done.", (string)rig.Rest.Matching("PATCH", "@original")[0].Json!["content"]!);
    }

    [Fact]
    public async Task Images_are_uploaded_as_multipart_with_the_message_in_payload_json()
    {
        await using var rig = await RigAsync();
        rig.Conversation.OnMessage = (_, output) => output.SendAsync(new Reply { Text = "Stats", Image = new ReplyImage([0x89, 0x50, 0x4E, 0x47], "stats.png") }, CancellationToken.None);
        await rig.Handler.OnGatewayDispatchAsync(Dispatch(Payloads.Slash("stats")), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", "@original").Length == 1, "the image answer");
        var upload = rig.Rest.Matching("PATCH", "@original")[0];
        Assert.StartsWith("multipart/form-data", upload.Headers["Content-Type"]);
        Assert.Contains("name=payload_json", upload.Body);
        Assert.Contains("\"attachments\":[{\"id\":0,\"filename\":\"stats.png\"}]", upload.Body);
        Assert.Contains("name=\"files[0]\"; filename=stats.png", upload.Body.Replace("filename=\"stats.png\"", "filename=stats.png"));
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
        Assert.Contains("Unknown command", (string)rig.Handler.Accept(Payloads.Slash("nope")).Response["data"]!["content"]!);
    }

    [Fact]
    public void Long_replies_and_labels_are_cut_to_discords_limits()
    {
        var buttons = Enumerable.Range(0, 7).Select(i => new ReplyButton(new string('b', 200), "p" + i)).ToArray();
        var message = InteractionChatOutput.Message(new Reply { Text = new string('a', 5000), Buttons = [buttons] }, flags: false);
        Assert.Equal(2000, ((string)message["content"]!).Length);
        Assert.Equal([5, 2], message["components"]!.AsArray().Select(r => r!["components"]!.AsArray().Count));
        Assert.Equal(80, ((string)message["components"]![0]!["components"]![0]!["label"]!).Length);
        Assert.Null(message["flags"]);
        Assert.Throws<ArgumentException>(() => InteractionChatOutput.Message(new Reply { Text = "x", Buttons = [Enumerable.Range(0, 26).Select(i => new ReplyButton("l", "p")).ToArray()] }, false));
        Assert.Throws<ArgumentException>(() => InteractionChatOutput.Message(new Reply { Text = "x", Buttons = [[new ReplyButton("l", new string('p', 101))]] }, false));
        Assert.Equal(64, (int)InteractionChatOutput.Message(Reply.Plain("x"), flags: true)["flags"]!);
    }
}
