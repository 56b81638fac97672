using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Discord.Rest;
using GanBertBots.Bots.Telegram;
using GanBertBots.Conversation;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Telegram.Bot;

namespace GanBertBots.Tests.RoundReports;

/// <summary>
/// The two real adapters' chat directories against fakes on 127.0.0.1: the Telegram.Bot client and our outbox
/// against <see cref="FakeBotApiServer"/>, our Discord REST client against <see cref="FakeRest"/>. Discord answers
/// a DM request for user U with channel 900000 + U, a message with a fresh id, and 403 (Missing Access) for the
/// channels in <see cref="ForbiddenDiscordChannels"/>.
/// </summary>
sealed class ModeratorChatsRig : IAsyncDisposable
{
    public FakeBotApiServer Telegram { get; private set; } = null!;
    public FakeRest Discord { get; private set; } = null!;
    public TelegramChatDirectory TelegramChats { get; private set; } = null!;
    public DiscordChatDirectory DiscordChats { get; private set; } = null!;
    public HashSet<string> ForbiddenDiscordChannels { get; } = [];
    int _discordMessages;

    public static async Task<ModeratorChatsRig> StartAsync()
    {
        var rig = new ModeratorChatsRig
        {
            Telegram = await FakeBotApiServer.StartAsync(),
            Discord = await FakeRest.StartAsync(),
        };
        var telegramOptions = new TelegramOptions
        {
            BotToken = rig.Telegram.Token, ApiBaseUrl = rig.Telegram.BaseUrl,
            MessagesPerSecondPerChat = 100, MessagesPerMinutePerGroup = 6000, MessagesPerSecondOverall = 1000,
        };
        var bot = new TelegramBotClient(new TelegramBotClientOptions(telegramOptions.BotToken, telegramOptions.ApiBaseUrl) { RetryCount = 0 });
        rig.TelegramChats = new TelegramChatDirectory(bot, new TelegramOutbox(telegramOptions), telegramOptions);

        var discordOptions = new DiscordOptions
        {
            BotToken = "test-token", ApplicationId = "42", ApiBaseUrl = rig.Discord.BaseUrl + "/api/v10",
            RestRetryBaseDelay = TimeSpan.FromMilliseconds(10),
        };
        rig.Discord.Respond = rig.RespondAsDiscord;
        rig.DiscordChats = new DiscordChatDirectory(new DiscordRestClient(new HttpClient(), discordOptions), discordOptions);
        return rig;
    }

    FakeResponse RespondAsDiscord(RecordedRequest r)
    {
        if (r.Method == "POST" && r.Path == "/api/v10/users/@me/channels")
        {
            long user = long.Parse((string)r.Json!["recipient_id"]!);
            return new FakeResponse(200, new JsonObject { ["id"] = (900000 + user).ToString(), ["type"] = 1 }.ToJsonString());
        }
        var segments = r.Path.Split('/');
        if (r.Method == "POST" && segments is [_, "api", "v10", "channels", var channel, "messages"])
        {
            if (ForbiddenDiscordChannels.Contains(channel)) return new FakeResponse(403, """{"message":"Missing Access","code":50001}""");
            return new FakeResponse(200, new JsonObject { ["id"] = (1000 + Interlocked.Increment(ref _discordMessages)).ToString(), ["channel_id"] = channel }.ToJsonString());
        }
        return new FakeResponse(404, """{"message":"404: Not Found","code":0}""");
    }

    public ModeratorAnnouncer Announcer(BotOptions options, CapturingLogger<ModeratorAnnouncer>? log = null, params IChatDirectory[] more) =>
        new([TelegramChats, DiscordChats, .. more], options, log);

    /// <summary>A Discord message as it arrived: its JSON (payload_json for an upload) and the uploaded file, if any.</summary>
    public sealed record DiscordMessage(JsonNode Json, string? FileName, byte[]? File);

    /// <summary>Messages posted to a Discord channel, in order.</summary>
    public async Task<IReadOnlyList<DiscordMessage>> DiscordMessagesIn(string channelId)
    {
        var messages = new List<DiscordMessage>();
        foreach (var request in Discord.Matching("POST", $"/channels/{channelId}/messages"))
            messages.Add(await ReadDiscordMessageAsync(request));
        return messages;
    }

    /// <summary>A Discord message request as the API reads it: plain JSON, or an upload's payload_json and its one file.</summary>
    public static async Task<DiscordMessage> ReadDiscordMessageAsync(RecordedRequest request)
    {
        if (!request.Headers["Content-Type"].StartsWith("multipart/form-data", StringComparison.Ordinal))
            return new DiscordMessage(request.Json!, null, null);
        string boundary = HeaderUtilities.RemoveQuotes(MediaTypeHeaderValue.Parse(request.Headers["Content-Type"]).Boundary).Value!;
        var reader = new MultipartReader(boundary, new MemoryStream(request.RawBody));
        JsonNode? json = null;
        string? fileName = null;
        byte[]? file = null;
        while (await reader.ReadNextSectionAsync() is { } section)
        {
            var disposition = ContentDispositionHeaderValue.Parse(section.ContentDisposition);
            using var content = new MemoryStream();
            await section.Body.CopyToAsync(content);
            if (disposition.Name.Value == "payload_json") json = JsonNode.Parse(content.ToArray());
            else if (disposition.Name.Value == "files[0]")
            {
                fileName = HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
                file = content.ToArray();
            }
            else throw new Xunit.Sdk.XunitException($"unexpected multipart section {disposition.Name}");
        }
        return new DiscordMessage(json ?? throw new Xunit.Sdk.XunitException("upload without payload_json"), fileName, file);
    }

    public async ValueTask DisposeAsync()
    {
        await Telegram.DisposeAsync();
        await Discord.DisposeAsync();
    }
}
