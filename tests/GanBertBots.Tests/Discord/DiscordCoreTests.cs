using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord.Gateway;
using GanBertBots.Conversation;
using GanBertBots.Inference;
using GanBertBots.Storage;
using GanBertBots.Tests.Bots;

namespace GanBertBots.Tests.Discord;

/// <summary>The adapter in front of the real conversation core, label store (SQLite) and inference service (fake models).</summary>
public sealed class DiscordCoreTests
{
    static async Task<List<LabelForTraining>> LabelsWhenCount(TempLabelStore temp, int count)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var labels = await temp.LabelsAsync();
            if (labels.Count >= count) return labels;
            if (clock.Elapsed > Wait.Long) throw new TimeoutException($"expected {count} labels, have {labels.Count}");
            await Task.Delay(20);
        }
    }

    static string FirstCustomId(System.Text.Json.Nodes.JsonNode message) =>
        (string)message["components"]![0]!["components"]![0]!["custom_id"]!;

    [Fact]
    public async Task Button_clicks_store_labels_and_a_non_moderator_cannot_label()
    {
        await using var temp = await TempLabelStore.OpenAsync();
        await temp.Store.AddTextAsync(new NewText("Wildfire evacuation ordered for the valley", TextOrigin.Corpus));
        using var inference = new InferenceService(new InferenceOptions { Generation = { MaxWaitMs = 0 }, Detection = { MaxWaitMs = 0 } },
            new FakeTweetModel(), new FakeDetectorModel());
        var core = new TestConversation(inference, temp.Store, new BotOptions
        {
            CallbackSecret = InteractionTests.Secret, Moderators = ["discord:98"], Burst = 100, MessagesPerMinute = 600,
        }, moderators: InteractionTests.Moderators()); // as the host feeds it: Discord's moderator roles count in the core
        await using var rig = await InteractionTests.RigAsync(_ => core);

        // 1. An ordinary member runs /detect: the verdict comes with feedback buttons signed by the core.
        var detect = Payloads.Slash("detect", null, ("text", "Forest fire near La Ronge Sask. Canada"));
        await rig.Handler.OnGatewayDispatchAsync(new GatewayDispatch(0, "INTERACTION_CREATE", 5, detect), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", $"/{detect["token"]}/messages/@original").Length == 1, "the verdict");
        string right = FirstCustomId(rig.Rest.Matching("PATCH", $"/{detect["token"]}/messages/@original")[0].Json!);

        // 2. The member presses the first feedback button: a label is stored for that text, by that Discord user.
        await rig.Handler.OnGatewayDispatchAsync(new GatewayDispatch(0, "INTERACTION_CREATE", 6, Payloads.Button(right)), CancellationToken.None);
        var first = Assert.Single(await LabelsWhenCount(temp, 1));
        Assert.Equal("Forest fire near La Ronge Sask. Canada", first.Text);
        Assert.Equal(new UserKey("discord", "7"), first.Who);
        Assert.Equal(LabelSource.UserFeedback, first.Source);

        // 3. A moderator (by role) opens /review: an ephemeral screen with label buttons.
        var review = Payloads.Slash("review", Payloads.Member("50", "0", "55"));
        await rig.Handler.OnGatewayDispatchAsync(new GatewayDispatch(0, "INTERACTION_CREATE", 7, review), CancellationToken.None);
        await Wait.Until(() => rig.Rest.Matching("PATCH", $"/{review["token"]}/messages/@original").Length == 1, "the review screen");
        Assert.Equal(64, (int)rig.Rest.Matching("POST", $"/interactions/{review["id"]}/")[0].Json!["data"]!["flags"]!);
        string labelButton = FirstCustomId(rig.Rest.Matching("PATCH", $"/{review["token"]}/messages/@original")[0].Json!);

        // 4. A member without moderator rights presses it: refused at once, nothing stored.
        var refused = rig.Handler.Accept(Payloads.Button(labelButton, Payloads.Member("7")));
        Assert.Equal(4, (int)refused.Response["type"]!);
        Assert.Null(refused.Work);
        Assert.Single(await temp.LabelsAsync());

        // 5. The moderator presses it: stored as a moderator label.
        var press = Payloads.Button(labelButton, Payloads.Member("50", "0", "55"));
        press["message"]!["flags"] = 64;
        await rig.Handler.OnGatewayDispatchAsync(new GatewayDispatch(0, "INTERACTION_CREATE", 8, press), CancellationToken.None);
        var labels = await LabelsWhenCount(temp, 2);
        var moderated = labels.Single(l => l.Source == LabelSource.Moderator);
        Assert.Equal(new UserKey("discord", "50"), moderated.Who);
        Assert.Equal(UserRole.Moderator, moderated.Role);
        await rig.Handler.DrainAsync(Wait.Long);
    }

    [Fact]
    public async Task Who_wrote_this_on_a_message_with_only_a_text_file_judges_the_file_privately()
    {
        await using var temp = await TempLabelStore.OpenAsync();
        using var inference = new InferenceService(new InferenceOptions { Generation = { MaxWaitMs = 0 }, Detection = { MaxWaitMs = 0 } },
            new FakeTweetModel(), new FakeDetectorModel());
        var core = new TestConversation(inference, temp.Store, new BotOptions { CallbackSecret = InteractionTests.Secret, Burst = 100, MessagesPerMinute = 600 });
        await using var rig = await InteractionTests.RigAsync(_ => core);
        const string file = "The river rose two metres overnight and the old bridge is gone.\n\nResidents are asked to leave before noon today.";
        rig.Rest.Respond = r => r.Path == "/cdn/statement.txt" ? new FakeResponse(200, file)
            : r.Method == "POST" && r.Path.StartsWith("/api/v10/webhooks/") ? new FakeResponse(200, """{"id":"m1"}""") : new FakeResponse(r.Method == "POST" ? 204 : 200);
        var menu = Payloads.MessageMenu("");
        menu["data"]!["resolved"]!["messages"]!["777"]!["attachments"] = new JsonArray(new JsonObject
        {
            ["id"] = "a1", ["filename"] = "statement.txt", ["content_type"] = "text/plain; charset=utf-8", ["size"] = file.Length,
            ["url"] = rig.Rest.BaseUrl + "/cdn/statement.txt",
        });
        var accepted = rig.Handler.Accept(menu);
        Assert.Equal("""{"type":5,"data":{"flags":64}}""", accepted.Response.ToJsonString()); // thinking, privately
        rig.Handler.Start(accepted);
        await Wait.Until(() => rig.Rest.Matching("PATCH", "@original").Length == 1, "the verdict on the file");
        Assert.Contains("📄 statement.txt: 2 paragraphs judged.", (string)rig.Rest.Matching("PATCH", "@original")[0].Json!["content"]!);
        Assert.Equal(2, (await temp.TextsAsync()).Count);
    }
}
