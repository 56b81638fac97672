using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Testing;

/// <summary>Bounded waits for the Discord tests: generous enough for a loaded 2-core CI box, never hit when things work.</summary>
public static class Wait
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    public static async Task<T> For<T>(Task<T> task, string what)
    {
        var done = await Task.WhenAny(task, Task.Delay(Long));
        if (done != task) throw new TimeoutException($"Timed out after {Long.TotalSeconds} s waiting for {what}.");
        return await task;
    }

    public static async Task For(Task task, string what)
    {
        var done = await Task.WhenAny(task, Task.Delay(Long));
        if (done != task) throw new TimeoutException($"Timed out after {Long.TotalSeconds} s waiting for {what}.");
        await task;
    }

    public static async Task Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Long) throw new TimeoutException($"Timed out after {Long.TotalSeconds} s waiting for {what}.");
            await Task.Delay(10);
        }
    }
}

/// <summary>
/// A scripted Discord gateway: every WebSocket connection is handed to the test in order, which then plays
/// Discord's side (HELLO, READY, ACKs, closes) and checks what the client sent.
/// </summary>
public sealed class FakeGateway : FakeServer
{
    readonly Channel<FakeGatewayConnection> _connections = Channel.CreateUnbounded<FakeGatewayConnection>();
    readonly List<FakeGatewayConnection> _all = [];
    public int ConnectionCount;

    FakeGateway()
    {
        App.UseWebSockets();
        App.Map("/{kind}", async (HttpContext http, string kind) =>
        {
            if (!http.WebSockets.IsWebSocketRequest) { http.Response.StatusCode = 400; return; }
            using var socket = await http.WebSockets.AcceptWebSocketAsync();
            Interlocked.Increment(ref ConnectionCount);
            var connection = new FakeGatewayConnection(socket, kind, http.Request.QueryString.Value ?? "");
            lock (_all) _all.Add(connection);
            await _connections.Writer.WriteAsync(connection);
            await connection.Finished.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
        });
    }

    public static async Task<FakeGateway> StartAsync()
    {
        var gateway = new FakeGateway();
        await gateway.ListenAsync();
        return gateway;
    }

    /// <summary>Drops every connection at once (a test ends; no close handshake to wait for).</summary>
    public override async ValueTask DisposeAsync()
    {
        lock (_all) foreach (var connection in _all) connection.Abort();
        await base.DisposeAsync();
    }

    public string WsUrl(string kind) => "ws" + BaseUrl["http".Length..] + "/" + kind;

    public Task<FakeGatewayConnection> NextConnectionAsync() =>
        Wait.For(_connections.Reader.ReadAsync().AsTask(), "the client to open a gateway connection");

    /// <summary>True if another connection arrives within <paramref name="window"/>.</summary>
    public async Task<bool> AnotherConnectionWithin(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try { await _connections.Reader.WaitToReadAsync(cts.Token); return true; }
        catch (OperationCanceledException) { return false; }
    }
}

public sealed class FakeGatewayConnection(WebSocket socket, string kind, string query)
{
    /// <summary>"gateway" (the URL from config or /gateway/bot) or "resume" (READY's resume_gateway_url).</summary>
    public string Kind { get; } = kind;
    public string Query { get; } = query;
    public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public int? CloseStatus => socket.CloseStatus is { } s ? (int)s : null;

    public void Abort()
    {
        socket.Abort();
        Finished.TrySetResult();
    }
    public List<JsonNode> Heartbeats { get; } = [];

    public Task SendAsync(int op, JsonNode? d = null, long? s = null, string? t = null)
    {
        var payload = new JsonObject { ["op"] = op, ["d"] = d, ["s"] = s, ["t"] = t };
        return socket.SendAsync(Encoding.UTF8.GetBytes(payload.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    public Task HelloAsync(int intervalMs) => SendAsync(10, new JsonObject { ["heartbeat_interval"] = intervalMs });

    public Task ReadyAsync(FakeGateway gateway, string sessionId, long seq) =>
        SendAsync(0, new JsonObject { ["v"] = 10, ["session_id"] = sessionId, ["resume_gateway_url"] = gateway.WsUrl("resume"), ["user"] = new JsonObject { ["id"] = "1" } }, seq, "READY");

    /// <summary>The next message from the client, or null when it closed the connection.</summary>
    public async Task<JsonNode?> ReceiveAsync()
    {
        var buffer = new byte[8192];
        using var message = new MemoryStream();
        while (true)
        {
            WebSocketReceiveResult result;
            try { result = await Wait.For(socket.ReceiveAsync(buffer, CancellationToken.None), "a message from the client"); }
            catch (WebSocketException) { Finished.TrySetResult(); return null; }
            if (result.MessageType == WebSocketMessageType.Close)
            {
                // Answer the client's close like Discord would, then let the connection go.
                if (socket.State == WebSocketState.CloseReceived)
                    try { await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, "", CancellationToken.None); } catch (WebSocketException) { }
                Finished.TrySetResult();
                return null;
            }
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return JsonNode.Parse(message.ToArray());
        }
    }

    /// <summary>The next message with <paramref name="op"/>; heartbeats on the way are recorded and acknowledged if <paramref name="ack"/>.</summary>
    public async Task<JsonNode> ExpectAsync(int op, bool ack = true)
    {
        while (true)
        {
            var message = await ReceiveAsync() ?? throw new InvalidOperationException($"client closed the connection (status {CloseStatus}) while op {op} was expected");
            int got = (int)message["op"]!;
            if (got == op) return message;
            if (got != 1) throw new InvalidOperationException($"expected op {op}, got {message.ToJsonString()}");
            Heartbeats.Add(message);
            if (ack) await SendAsync(11);
        }
    }

    /// <summary>Reads (without acknowledging) until the client closes; returns the close code.</summary>
    public async Task<int?> ExpectCloseAsync()
    {
        while (await ReceiveAsync() is { } message)
            if ((int)message["op"]! == 1) Heartbeats.Add(message);
        return CloseStatus;
    }

    public async Task CloseAsync(int code, string reason)
    {
        await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, CancellationToken.None);
        // Read until the client answers the close (or drops): closing the TCP connection with unread data would
        // reset it and could destroy our close frame before the client reads it.
        var buffer = new byte[8192];
        try
        {
            while (socket.State == WebSocketState.CloseSent)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
                if (result.MessageType == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException) { }
        Finished.TrySetResult();
    }
}

/// <summary>One request the fake REST server saw.</summary>
public sealed record RecordedRequest(string Method, string Path, string Body, Dictionary<string, string> Headers, TimeSpan At)
{
    /// <summary>The body as sent (uploads: the multipart bytes, which <see cref="Body"/> cannot hold intact).</summary>
    public byte[] RawBody { get; init; } = [];
    public JsonNode? Json => Body.Length == 0 ? null : JsonNode.Parse(Body);
}

/// <summary>What the fake REST server answers.</summary>
public sealed record FakeResponse(int Status, string Body = "{}", Dictionary<string, string>? Headers = null);

/// <summary>A fake Discord REST API that records every call and answers through a test-supplied function.</summary>
public sealed class FakeRest : FakeServer
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();
    public Func<RecordedRequest, FakeResponse> Respond { get; set; } = _ => new FakeResponse(200);

    FakeRest()
    {
        App.Run(async http =>
        {
            using var raw = new MemoryStream();
            await http.Request.Body.CopyToAsync(raw);
            string body = Encoding.UTF8.GetString(raw.ToArray());
            var headers = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var request = new RecordedRequest(http.Request.Method, http.Request.Path.Value ?? "", body, headers, _clock.Elapsed) { RawBody = raw.ToArray() };
            Requests.Enqueue(request);
            var response = Respond(request);
            http.Response.StatusCode = response.Status;
            foreach (var (name, value) in response.Headers ?? []) http.Response.Headers[name] = value;
            if (response.Status != 204)
            {
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(response.Body);
            }
        });
    }

    public static async Task<FakeRest> StartAsync()
    {
        var rest = new FakeRest();
        await rest.ListenAsync();
        return rest;
    }

    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Answers as Discord does for a bot on one shard: /gateway/bot points at <paramref name="gateway"/>; other calls succeed.</summary>
    public void AnswerForOneShard(FakeGateway gateway) =>
        Respond = r => r.Path.EndsWith("/gateway/bot")
            ? new FakeResponse(200, $$$"""{"url":"{{{gateway.WsUrl("gateway")}}}","shards":1,"session_start_limit":{"total":1000,"remaining":999,"reset_after":0,"max_concurrency":1}}""")
            : new FakeResponse(r.Method == "POST" ? 204 : 200, r.Method == "PUT" ? "[]" : "{}");

    public RecordedRequest[] Matching(string method, string pathPart) =>
        Requests.Where(r => r.Method == method && r.Path.Contains(pathPart, StringComparison.Ordinal)).ToArray();
}

/// <summary>Keeps formatted log lines so a test can wait for a client to reach a state it logs.</summary>
public sealed class CapturingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
}
