using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Telegram.Bot;
using Telegram.Bot.Types;

namespace GanBertBots.Bots.Telegram;

/// <summary>
/// One long-polling <c>getUpdates</c> call, read update by update: an element that is not a readable update (a wrong
/// type, a lone UTF-16 surrogate, a string where an object belongs) is skipped and reported, and still confirmed by
/// the next offset, so one bad update can neither poison its batch nor stall every chat behind it.
/// </summary>
public sealed class TelegramUpdateBatch
{
    public required IReadOnlyList<Update> Updates { get; init; }
    /// <summary>Elements that could not be read: their update id (when it could be read) and why.</summary>
    public required IReadOnlyList<(long? UpdateId, string Reason)> Skipped { get; init; }
    /// <summary>The offset that confirms everything in this batch (unchanged when it was empty).</summary>
    public required long NextOffset { get; init; }

    /// <summary>Calls getUpdates at <paramref name="offset"/>; throws <see cref="TelegramApiError"/> for an error answer.</summary>
    /// <param name="waitSeconds">How long Telegram may hold the call open for news (default: Telegram:PollingTimeoutSeconds; 0 to only confirm).</param>
    public static async Task<TelegramUpdateBatch> FetchAsync(HttpClient http, TelegramOptions options, long offset, CancellationToken ct,
        int? waitSeconds = null)
    {
        var request = new JsonObject
        {
            ["offset"] = offset, ["limit"] = 100, ["timeout"] = waitSeconds ?? options.PollingTimeoutSeconds,
            ["allowed_updates"] = new JsonArray("message", "callback_query", "inline_query"),
        };
        string url = $"{options.ApiBaseUrl.TrimEnd('/')}/bot{options.BotToken}/getUpdates";
        using var response = await http.PostAsync(url, new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"), ct);
        string body = await response.Content.ReadAsStringAsync(ct);
        JsonDocument document;
        try { document = JsonDocument.Parse(body); }
        catch (JsonException e)
        {
            throw new TelegramApiError((int)response.StatusCode, $"getUpdates answered with something that is not JSON ({e.Message})", 0);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("ok", out var ok) || ok.ValueKind != JsonValueKind.True)
            {
                string description = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("description", out var d) ? d.ToString() : body;
                int retryAfter = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("parameters", out var p)
                    && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("retry_after", out var r) && r.TryGetInt32(out int seconds) ? seconds : 0;
                throw new TelegramApiError((int)response.StatusCode, description, retryAfter);
            }
            if (!root.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Array)
                throw new TelegramApiError((int)response.StatusCode, "getUpdates answered without a result array", 0);

            var updates = new List<Update>();
            var skipped = new List<(long?, string)>();
            long next = offset;
            foreach (var element in result.EnumerateArray())
            {
                long? id = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("update_id", out var idElement)
                    && idElement.TryGetInt64(out long value) ? value : null;
                if (id is { } known) next = Math.Max(next, known + 1);
                try
                {
                    var update = element.Deserialize<Update>(JsonBotAPI.Options);
                    if (update is null) skipped.Add((id, "null"));
                    else updates.Add(update);
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
                {
                    skipped.Add((id, $"{e.GetType().Name}: {e.Message}"));
                }
            }
            return new TelegramUpdateBatch { Updates = updates, Skipped = skipped, NextOffset = next };
        }
    }
}

/// <summary>An error answer of the Bot API (with Telegram's retry_after when it gave one).</summary>
public sealed class TelegramApiError(int statusCode, string description, int retryAfterSeconds)
    : Exception($"{statusCode}: {description}")
{
    public int StatusCode { get; } = statusCode;
    public int RetryAfterSeconds { get; } = retryAfterSeconds;
}
