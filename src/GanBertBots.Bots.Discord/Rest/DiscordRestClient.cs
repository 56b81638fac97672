using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using GanBertBots.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Bots.Discord.Rest;

/// <summary>A file sent with a message (multipart upload: <c>payload_json</c> + <c>files[0]</c>).</summary>
public sealed record DiscordAttachment(string FileName, byte[] Content, string ContentType = "image/png");

/// <summary>What <c>GET /gateway/bot</c> answers.</summary>
public sealed record GatewayBotInfo(string Url, int Shards, SessionStartLimit SessionStartLimit);

/// <summary>Identify budget: <see cref="Remaining"/> starts left, reset after <see cref="ResetAfter"/>; at most
/// <see cref="MaxConcurrency"/> identifies per 5 s.</summary>
public sealed record SessionStartLimit(int Total, int Remaining, TimeSpan ResetAfter, int MaxConcurrency);

/// <summary>
/// Discord REST on <see cref="HttpClient"/>, following docs/topics/rate-limits: per-bucket limits learned from
/// <c>X-RateLimit-Bucket/-Remaining/-Reset-After</c>, 429s honoured with <c>retry_after</c> in the user, global and
/// shared scopes, the bot-wide 50 requests/s, and 5xx retried with exponential backoff. A call either returns
/// Discord's answer or throws <see cref="DiscordApiException"/>: nothing is dropped silently.
/// </summary>
public sealed class DiscordRestClient : IDisposable
{
    readonly HttpClient _http;
    readonly DiscordOptions _options;
    readonly ILogger _log;
    readonly TimeProvider _time;
    readonly Backoff _backoff;
    readonly SlidingWindowRateLimiter _globalRate;
    readonly ConcurrentDictionary<string, string> _bucketOfRoute = new();
    readonly ConcurrentDictionary<string, Bucket> _buckets = new();
    readonly string _baseUrl;
    long _globalBlockedUntilTicks; // UTC ticks; read and written with Volatile/Interlocked

    sealed class Bucket
    {
        public readonly SemaphoreSlim Turn = new(1, 1);
        public int? Remaining;
        public DateTimeOffset ResetAt = DateTimeOffset.MinValue;
    }

    public DiscordRestClient(HttpClient http, DiscordOptions options, ILogger<DiscordRestClient>? log = null, TimeProvider? time = null)
    {
        _http = http;
        _options = options;
        _log = (ILogger?)log ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _backoff = new Backoff(options.RestRetryBaseDelay, options.RestRetryBaseDelay * 1024) { Jitter = 0.5, Time = _time };
        _globalRate = RateLimits.SlidingWindow(Math.Max(1, options.RestGlobalLimitPerSecond), TimeSpan.FromSeconds(1));
        _baseUrl = options.ApiBaseUrl.TrimEnd('/');
    }

    /// <summary>Stops the global rate limit's timer (the <see cref="HttpClient"/> belongs to the caller).</summary>
    public void Dispose() => _globalRate.Dispose();

    // ---- typed endpoints -------------------------------------------------------------------------------------

    /// <summary><c>GET /gateway/bot</c>: the WSS URL, recommended shards and the session start limit.</summary>
    public async Task<GatewayBotInfo> GetGatewayBotAsync(CancellationToken cancellation)
    {
        var json = await SendAsync(HttpMethod.Get, "/gateway/bot", null, cancellation).ConfigureAwait(false)
                   ?? throw new DiscordApiException("GET", "/gateway/bot", null, null, "empty answer");
        try
        {
            var limit = json["session_start_limit"];
            return new GatewayBotInfo(
                (string)json["url"]!,
                (int?)json["shards"] ?? 1,
                new SessionStartLimit(
                    (int?)limit?["total"] ?? 1000,
                    (int?)limit?["remaining"] ?? 1000,
                    TimeSpan.FromMilliseconds((double?)limit?["reset_after"] ?? 0),
                    Math.Max(1, (int?)limit?["max_concurrency"] ?? 1)));
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new DiscordApiException("GET", "/gateway/bot", null, null, $"malformed answer: {json.ToJsonString()}", e);
        }
    }

    /// <summary><c>PUT /applications/{app}/commands</c>: replaces every global command with <paramref name="commands"/>.</summary>
    public Task<JsonNode?> BulkOverwriteGlobalCommandsAsync(JsonArray commands, CancellationToken cancellation) =>
        SendAsync(HttpMethod.Put, $"/applications/{_options.ApplicationId}/commands", commands, cancellation);

    /// <summary>Downloads an attachment (a CDN URL from the interaction), at most 1 MiB + 1 byte: enough to tell that a file is too large.</summary>
    public async Task<byte[]> DownloadAsync(string url, CancellationToken cancellation)
    {
        const int limit = (1 << 20) + 1;
        using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellation);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellation);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while (buffer.Length < limit && (read = await body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, limit - buffer.Length)), cancellation)) > 0)
            buffer.Write(chunk, 0, read);
        return buffer.ToArray();
    }

    /// <summary><c>PUT /applications/{app}/guilds/{guild}/commands</c>: replaces this guild's commands (they show there at once).</summary>
    public Task<JsonNode?> BulkOverwriteGuildCommandsAsync(string guildId, JsonArray commands, CancellationToken cancellation) =>
        SendAsync(HttpMethod.Put, $"/applications/{_options.ApplicationId}/guilds/{guildId}/commands", commands, cancellation);

    /// <summary><c>POST /interactions/{id}/{token}/callback</c>: the first answer (must come within 3 s).</summary>
    public Task<JsonNode?> CreateInteractionResponseAsync(string interactionId, string token, JsonObject response, CancellationToken cancellation) =>
        SendAsync(HttpMethod.Post, $"/interactions/{interactionId}/{token}/callback", response, cancellation);

    /// <summary><c>PATCH /webhooks/{app}/{token}/messages/@original</c>: replaces the deferred answer with the result.</summary>
    public Task<JsonNode?> EditOriginalResponseAsync(string token, JsonObject message, CancellationToken cancellation, DiscordAttachment? file = null) =>
        EditFollowupMessageAsync(token, "@original", message, cancellation, file);

    /// <summary><c>PATCH /webhooks/{app}/{token}/messages/{id}</c>: edits a message sent with this interaction token.</summary>
    public Task<JsonNode?> EditFollowupMessageAsync(string token, string messageId, JsonObject message, CancellationToken cancellation, DiscordAttachment? file = null) =>
        SendAsync(HttpMethod.Patch, $"/webhooks/{_options.ApplicationId}/{token}/messages/{messageId}", message, cancellation, file);

    /// <summary><c>POST /webhooks/{app}/{token}</c>: a follow-up message (valid for 15 minutes after the interaction).</summary>
    public Task<JsonNode?> CreateFollowupMessageAsync(string token, JsonObject message, CancellationToken cancellation, DiscordAttachment? file = null) =>
        SendAsync(HttpMethod.Post, $"/webhooks/{_options.ApplicationId}/{token}", message, cancellation, file);

    /// <summary><c>POST /channels/{channel}/messages</c>: a message in a channel (a DM channel too), as the bot, not as an interaction answer.</summary>
    public Task<JsonNode?> CreateMessageAsync(string channelId, JsonObject message, CancellationToken cancellation, DiscordAttachment? file = null) =>
        SendAsync(HttpMethod.Post, $"/channels/{channelId}/messages", message, cancellation, file);

    /// <summary><c>PATCH /channels/{channel}/messages/{id}</c>: edits a message the bot sent with <see cref="CreateMessageAsync"/>.</summary>
    public Task<JsonNode?> EditMessageAsync(string channelId, string messageId, JsonObject message, CancellationToken cancellation, DiscordAttachment? file = null) =>
        SendAsync(HttpMethod.Patch, $"/channels/{channelId}/messages/{messageId}", message, cancellation, file);

    /// <summary><c>POST /channels/{channel}/typing</c>: "typing…" for about 10 seconds.</summary>
    public Task<JsonNode?> TriggerTypingAsync(string channelId, CancellationToken cancellation) =>
        SendAsync(HttpMethod.Post, $"/channels/{channelId}/typing", null, cancellation);

    /// <summary><c>POST /users/@me/channels</c>: opens (or finds) the DM channel with a user; returns its channel id.</summary>
    public async Task<string> CreateDmChannelAsync(string userId, CancellationToken cancellation)
    {
        var channel = await SendAsync(HttpMethod.Post, "/users/@me/channels", new JsonObject { ["recipient_id"] = userId }, cancellation).ConfigureAwait(false);
        return (channel as JsonObject)?["id"] is JsonValue id && id.TryGetValue<string>(out var value) && value.Length > 0 ? value
            : throw new DiscordApiException("POST", "/users/@me/channels", null, null, $"answer has no channel id: {channel?.ToJsonString() ?? "(empty)"}");
    }

    // ---- the rate-limited core ---------------------------------------------------------------------------------

    /// <summary>Sends one call, waiting for its bucket and the global limit, retrying 429 and 5xx.</summary>
    /// <returns>The JSON answer, or null for 204 No Content.</returns>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellation, DiscordAttachment? file = null)
    {
        if (file is not null)
        {
            // Multipart: the JSON goes in payload_json and names the upload in "attachments".
            body = body?.DeepClone() ?? new JsonObject();
            body["attachments"] = new JsonArray(new JsonObject { ["id"] = 0, ["filename"] = file.FileName });
        }
        var route = RateLimitRoute.For(method, path);
        string bodyText = body?.ToJsonString() ?? "";
        // One count for 429s and failures, but not one policy: a 429 waits what Discord says (retry_after, in its bucket
        // or globally), only 5xx and lost connections back off.
        for (int attempt = 0; ; attempt++)
        {
            await WaitForGlobalAsync(route, cancellation).ConfigureAwait(false);
            var bucket = BucketFor(route);
            HttpResponseMessage response;
            string text;
            await bucket.Turn.WaitAsync(cancellation).ConfigureAwait(false);
            try
            {
                await WaitForBucketAsync(bucket, cancellation).ConfigureAwait(false);
                try
                {
                    using var request = BuildRequest(method, path, body is null ? null : bodyText, file);
                    response = await _http.SendAsync(request, cancellation).ConfigureAwait(false);
                    text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellation.IsCancellationRequested))
                {
                    // No answer at all. Retry only what is safe to repeat; a POST may have been carried out.
                    if (method == HttpMethod.Post || attempt >= _options.RestMaxRetries)
                        throw new DiscordApiException(method.Method, route.Template, null, null, "no response: " + e.Message, e);
                    _log.LogWarning("Discord {Route}: no response ({Error}); retry {Attempt}", route, e.Message, attempt + 1);
                    await _backoff.WaitAsync(attempt, cancellation).ConfigureAwait(false);
                    continue;
                }
                RecordHeaders(route, response);
            }
            finally
            {
                bucket.Turn.Release();
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var (retryAfter, scope) = ReadRateLimit(response, text);
                    var until = _time.GetUtcNow() + retryAfter;
                    if (scope == "global") Volatile.Write(ref _globalBlockedUntilTicks, until.UtcTicks);
                    else
                    {
                        var limited = BucketFor(route);
                        // retry_after is the authority (docs: "rely on the Retry-After header or retry_after field"); in the
                        // shared scope the bucket's own Reset-After describes our per-bot quota, not this resource's limit.
                        lock (limited) { limited.Remaining = 0; limited.ResetAt = until; }
                    }
                    _log.LogWarning("Discord {Route}: 429 in {Scope} scope, retry after {RetryAfter} s", route, scope, retryAfter.TotalSeconds);
                    if (attempt >= _options.RestMaxRetries)
                        throw new DiscordRateLimitedException(method.Method, route.Template, retryAfter, scope);
                    continue;
                }
                if ((int)response.StatusCode >= 500)
                {
                    if (attempt >= _options.RestMaxRetries)
                        throw Failure(method, route, response.StatusCode, text);
                    var delay = _backoff.DelayFor(attempt);
                    _log.LogWarning("Discord {Route}: HTTP {Status}; retry {Attempt} in {Delay} ms", route, (int)response.StatusCode, attempt + 1, delay.TotalMilliseconds);
                    await Task.Delay(delay, _time, cancellation).ConfigureAwait(false);
                    continue;
                }
                if (!response.IsSuccessStatusCode) throw Failure(method, route, response.StatusCode, text);
                return text.Length == 0 ? null : JsonNode.Parse(text);
            }
        }
    }

    HttpRequestMessage BuildRequest(HttpMethod method, string path, string? json, DiscordAttachment? file)
    {
        var request = new HttpRequestMessage(method, _baseUrl + path);
        if (_options.BotToken.Length > 0) request.Headers.Authorization = new AuthenticationHeaderValue("Bot", _options.BotToken);
        // The docs require this exact shape: DiscordBot ($url, $versionNumber).
        request.Headers.UserAgent.ParseAdd("DiscordBot (https://github.com/ganbertbots/ganbertbots, 1.0)");
        if (file is not null)
        {
            var form = new MultipartFormDataContent();
            form.Add(new StringContent(json ?? "{}", Encoding.UTF8, "application/json"), "payload_json");
            var bytes = new ByteArrayContent(file.Content);
            bytes.Headers.ContentType = new MediaTypeHeaderValue(file.ContentType);
            form.Add(bytes, "files[0]", file.FileName);
            request.Content = form;
        }
        else if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return request;
    }

    Bucket BucketFor(RateLimitRoute route)
    {
        string key = (_bucketOfRoute.TryGetValue(route.Template, out var hash) ? hash : route.Template) + "|" + route.Major;
        return _buckets.GetOrAdd(key, _ => new Bucket());
    }

    async Task WaitForGlobalAsync(RateLimitRoute route, CancellationToken cancellation)
    {
        // A global 429 stops every route, interaction ones included (they answered 429 for a reason).
        var wait = new DateTimeOffset(Volatile.Read(ref _globalBlockedUntilTicks), TimeSpan.Zero) - _time.GetUtcNow();
        if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, cancellation).ConfigureAwait(false);
        if (!route.IsInteraction) await _globalRate.WaitAsync(cancellation).ConfigureAwait(false);
    }

    async Task WaitForBucketAsync(Bucket bucket, CancellationToken cancellation)
    {
        TimeSpan wait;
        lock (bucket) wait = bucket.Remaining == 0 ? bucket.ResetAt - _time.GetUtcNow() : TimeSpan.Zero;
        if (wait > TimeSpan.Zero)
        {
            _log.LogDebug("Discord bucket exhausted; waiting {Wait} ms", wait.TotalMilliseconds);
            await Task.Delay(wait, _time, cancellation).ConfigureAwait(false);
        }
        lock (bucket) if (bucket.Remaining == 0 && _time.GetUtcNow() >= bucket.ResetAt) bucket.Remaining = null;
    }

    void RecordHeaders(RateLimitRoute route, HttpResponseMessage response)
    {
        if (Header(response, "X-RateLimit-Bucket") is { Length: > 0 } hash) _bucketOfRoute[route.Template] = hash;
        var bucket = BucketFor(route);
        int? remaining = int.TryParse(Header(response, "X-RateLimit-Remaining"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r : null;
        double? resetAfter = double.TryParse(Header(response, "X-RateLimit-Reset-After"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : null;
        if (remaining is null && resetAfter is null) return;
        lock (bucket)
        {
            if (remaining is not null) bucket.Remaining = remaining;
            if (resetAfter is not null) bucket.ResetAt = _time.GetUtcNow() + TimeSpan.FromSeconds(resetAfter.Value);
        }
    }

    (TimeSpan RetryAfter, string Scope) ReadRateLimit(HttpResponseMessage response, string text)
    {
        double seconds = double.TryParse(Header(response, "Retry-After"), NumberStyles.Float, CultureInfo.InvariantCulture, out var h) ? h : 1;
        bool global = string.Equals(Header(response, "X-RateLimit-Global"), "true", StringComparison.OrdinalIgnoreCase);
        try
        {
            // The body's retry_after is the precise one (float seconds); the header is rounded up.
            if (text.Length > 0 && JsonNode.Parse(text) is JsonObject o)
            {
                if (o["retry_after"] is JsonValue v && v.TryGetValue<double>(out var precise)) seconds = precise;
                if (o["global"] is JsonValue g && g.TryGetValue<bool>(out var isGlobal)) global |= isGlobal;
            }
        }
        catch (JsonException) { /* Cloudflare answers 429 with HTML: the header is all we have. */ }
        string scope = Header(response, "X-RateLimit-Scope") ?? (global ? "global" : "user");
        if (global) scope = "global";
        return (TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 3600)), scope);
    }

    static DiscordApiException Failure(HttpMethod method, RateLimitRoute route, HttpStatusCode status, string text)
    {
        int? code = null;
        string message = text.Length > 500 ? text[..500] + "…" : text;
        try
        {
            if (text.Length > 0 && JsonNode.Parse(text) is JsonObject o)
            {
                code = (int?)o["code"];
                message = (string?)o["message"] ?? message;
                if (o["errors"] is { } errors) message += " " + errors.ToJsonString();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { }
        return new DiscordApiException(method.Method, route.Template, status, code, message.Length == 0 ? "(empty body)" : message);
    }

    static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
