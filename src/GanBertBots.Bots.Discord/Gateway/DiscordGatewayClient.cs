using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using GanBertBots.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Bots.Discord.Gateway;

// Long on purpose: one connection's state machine (hello, heartbeat, identify/resume, close codes); split up, its state would be spread over files.

/// <summary>
/// One shard's connection to the Discord gateway (docs/topics/gateway), on <see cref="ClientWebSocket"/>.
/// <list type="bullet">
/// <item>HELLO → first heartbeat after <c>interval × jitter</c>, then every interval; a heartbeat sent while the
/// previous one is unacknowledged means a zombie connection: close with 4000 (not 1000/1001, so the session
/// survives) and resume. A server op 1 is answered at once.</item>
/// <item>IDENTIFY (token, intents, shard) or RESUME (session_id, seq) on resume_gateway_url.</item>
/// <item>RESUME after op 7, resumable closes and op 9 <c>d: true</c>; IDENTIFY after op 9 <c>d: false</c> and closes
/// 4001/4003/4005/4007/4009; <see cref="DiscordGatewayException"/> on 4004 and 4010–4014 (no retry loop).</item>
/// <item>Reconnects back off exponentially with jitter (1 s doubling to 60 s by default); sends stay under
/// 120 per 60 s per connection (heartbeats keep a reserve) and under 4,096 bytes each.</item>
/// </list>
/// Dispatches are handed, in order, to the handler on a separate task so a slow handler never delays heartbeats.
/// </summary>
public sealed class DiscordGatewayClient
{
    public const int MaxPayloadBytes = 4096;

    readonly DiscordOptions _options;
    readonly string _gatewayUrl;
    readonly Func<GatewayDispatch, CancellationToken, Task> _onDispatch;
    readonly ILogger _log;
    readonly TimeProvider _time;
    readonly IdentifyGate _identifyGate;
    readonly bool _ownsIdentifyGate;
    readonly Func<double> _jitter;
    readonly Backoff _backoff;
    readonly Channel<GatewayDispatch> _dispatches = Channel.CreateUnbounded<GatewayDispatch>(new() { SingleReader = true });

    string? _sessionId;
    string? _resumeUrl;
    long _sequence = -1; // -1: none yet
    bool _resumeUrlFailed;
    Connection? _current;
    int _connections;
    int _started;

    public DiscordGatewayClient(DiscordOptions options, string gatewayUrl, int shardId, int shardCount,
        Func<GatewayDispatch, CancellationToken, Task> onDispatch, ILogger? log = null, TimeProvider? time = null,
        IdentifyGate? identifyGate = null, Func<double>? jitter = null)
    {
        if (shardCount < 1 || shardId < 0 || shardId >= shardCount)
            throw new ArgumentException($"Shard [{shardId}, {shardCount}] is not valid: need 0 <= id < count.");
        _options = options;
        _gatewayUrl = gatewayUrl;
        ShardId = shardId;
        ShardCount = shardCount;
        _onDispatch = onDispatch;
        _log = log ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _identifyGate = identifyGate ?? new IdentifyGate(1, options.IdentifyWindow);
        _ownsIdentifyGate = identifyGate is null;
        _jitter = jitter ?? Random.Shared.NextDouble;
        _backoff = new Backoff(options.ReconnectInitialDelay, options.ReconnectMaxDelay) { Jitter = 0.5, Random = _jitter };
    }

    public int ShardId { get; }
    public int ShardCount { get; }

    /// <summary>How many WebSocket connections this client has opened (tests, metrics).</summary>
    public int Connections => Volatile.Read(ref _connections);

    public GatewaySessionState Session
    {
        get
        {
            long s = Interlocked.Read(ref _sequence);
            return new GatewaySessionState(Volatile.Read(ref _sessionId), Volatile.Read(ref _resumeUrl), s < 0 ? null : s);
        }
    }

    /// <summary>Round trip of the last acknowledged heartbeat.</summary>
    public TimeSpan? Latency { get; private set; }

    /// <summary>
    /// Keeps the shard connected until <paramref name="cancellation"/> fires (then closes with 1000) or the gateway
    /// refuses us for good (throws <see cref="DiscordGatewayException"/>).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellation)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
            throw new InvalidOperationException("A DiscordGatewayClient runs once; create a new one to connect again.");
        var consumer = Task.Run(() => ConsumeDispatchesAsync(cancellation), CancellationToken.None);
        int failures = 0;
        try
        {
            while (true)
            {
                cancellation.ThrowIfCancellationRequested();
                bool resuming = Volatile.Read(ref _sessionId) is not null;
                string url = resuming && _resumeUrl is { } r && !_resumeUrlFailed ? r : _gatewayUrl;
                Ending end;
                try
                {
                    end = await RunConnectionAsync(url, resuming, cancellation).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception e) when (e is WebSocketException or IOException or TimeoutException or JsonException
                                              or OperationCanceledException or GatewayProtocolException)
                {
                    end = new Ending(ReconnectAction.Resume, null, $"connection failed: {e.Message}", false);
                    if (resuming && url != _gatewayUrl) _resumeUrlFailed = true; // docs: if resuming fails, use the cached URL
                }

                cancellation.ThrowIfCancellationRequested();
                if (end.Action == ReconnectAction.Stop)
                {
                    string message = $"Discord gateway (shard {ShardId}/{ShardCount}) closed the connection with {GatewayCloseCodes.Describe(end.CloseCode)}. Not reconnecting.";
                    _log.LogCritical("{Message}", message);
                    throw new DiscordGatewayException(end.CloseCode, message);
                }
                if (end.Action == ReconnectAction.Reidentify) ForgetSession();

                // Not a plain retry loop: Discord's rules decide (a session that was live reconnects at once, op 9 asks for
                // its own wait, a resume that failed falls back to identify); only the failures in a row back off.
                TimeSpan delay;
                if (end.Delay is { } asked) delay = asked;
                else if (end.WasLive) delay = TimeSpan.Zero;
                else delay = Backoff(failures);
                if (end.WasLive) failures = 0; else failures++;
                _log.LogInformation("Discord gateway shard {Shard}: {Reason}; will {Action} in {Delay} ms",
                    ShardId, end.Reason, end.Action == ReconnectAction.Resume && _sessionId is not null ? "resume" : "identify", (int)delay.TotalMilliseconds);
                if (delay > TimeSpan.Zero) await Task.Delay(delay, _time, cancellation).ConfigureAwait(false);
            }
        }
        finally
        {
            _dispatches.Writer.TryComplete();
            await consumer.ConfigureAwait(false);
            if (_ownsIdentifyGate) _identifyGate.Dispose();
        }
    }

    /// <summary>
    /// Sends an event on the live connection (presence updates and the like), through the send budget.
    /// Throws when there is no live connection or the payload is over 4,096 bytes.
    /// </summary>
    public Task SendAsync(GatewayOpcode op, JsonNode? data, CancellationToken cancellation)
    {
        var connection = Volatile.Read(ref _current) ?? throw new InvalidOperationException("The gateway is not connected.");
        return connection.SendAsync(op, data, urgent: false, cancellation);
    }

    /// <summary>Exponential backoff with jitter in [delay/2, delay]: 1 s, 2 s, 4 s … capped at 60 s.</summary>
    public TimeSpan Backoff(int failures) => _backoff.DelayFor(failures);

    void ForgetSession()
    {
        Volatile.Write(ref _sessionId, null);
        Volatile.Write(ref _resumeUrl, null);
        Interlocked.Exchange(ref _sequence, -1);
        _resumeUrlFailed = false;
    }

    /// <summary>How a connection ended: what to do next, the close code, a reason for logs, and whether it had been
    /// live (READY or RESUMED reached, which resets the backoff).</summary>
    sealed record Ending(ReconnectAction Action, int? CloseCode, string Reason, bool WasLive, TimeSpan? Delay = null);

    sealed class GatewayProtocolException(string message) : Exception(message);

    async Task<Ending> RunConnectionAsync(string url, bool resuming, CancellationToken cancellation)
    {
        using var socket = new ClientWebSocket();
        // Not linked to the caller's token: on shutdown we first send close 1000 and let the server answer it
        // (cancelling a receive would abort the socket without a close frame).
        using var live = new CancellationTokenSource();
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
        {
            connectTimeout.CancelAfter(_options.HelloTimeout);
            await socket.ConnectAsync(WithQuery(url), connectTimeout.Token).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _connections);
        var connection = new Connection(this, socket, live);
        using var stopping = cancellation.Register(() => _ = ShutDownAsync(connection));
        try
        {
            // 1. HELLO.
            JsonNode? hello;
            using (var helloTimeout = CancellationTokenSource.CreateLinkedTokenSource(live.Token))
            {
                helloTimeout.CancelAfter(_options.HelloTimeout);
                hello = await connection.ReceiveAsync(helloTimeout.Token).ConfigureAwait(false);
            }
            if (hello is null) return EndedByServer(socket, false);
            if ((int?)hello["op"] != (int)GatewayOpcode.Hello)
                throw new GatewayProtocolException($"expected HELLO (op 10) first, got {Truncate(hello.ToJsonString())}");
            double intervalMs = (double?)hello["d"]?["heartbeat_interval"] ?? 0;
            if (intervalMs <= 0) throw new GatewayProtocolException("HELLO without a positive heartbeat_interval");

            // 2. Heartbeats in the background, then 3. IDENTIFY or RESUME.
            Volatile.Write(ref _current, connection);
            var heartbeats = HeartbeatAsync(connection, TimeSpan.FromMilliseconds(intervalMs));
            if (resuming)
            {
                await connection.SendAsync(GatewayOpcode.Resume, new JsonObject
                {
                    ["token"] = _options.BotToken,
                    ["session_id"] = _sessionId,
                    ["seq"] = Session.Sequence,
                }, urgent: false, live.Token).ConfigureAwait(false);
            }
            else
            {
                await _identifyGate.WaitTurnAsync(ShardId, live.Token).ConfigureAwait(false);
                await connection.SendAsync(GatewayOpcode.Identify, new JsonObject
                {
                    ["token"] = _options.BotToken,
                    ["intents"] = _options.Intents,
                    ["shard"] = new JsonArray(ShardId, ShardCount),
                    ["properties"] = new JsonObject { ["os"] = OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "macos" : "linux", ["browser"] = "ganbertbots", ["device"] = "ganbertbots" },
                }, urgent: false, live.Token).ConfigureAwait(false);
            }

            // 4. Events until the connection ends.
            var ending = await ReceiveLoopAsync(connection, socket, live.Token).ConfigureAwait(false);
            live.Cancel();
            try { await heartbeats.ConfigureAwait(false); } catch (OperationCanceledException) { }
            return ending;
        }
        catch (OperationCanceledException) when (connection.Ending is { } zombie && !cancellation.IsCancellationRequested)
        {
            return zombie; // the heartbeat task ended this connection
        }
        finally
        {
            Interlocked.CompareExchange(ref _current, null, connection);
            live.Cancel();
            connection.Dispose();
        }
    }

    /// <summary>Shutdown: 1000 ends the session on Discord's side and shows the bot offline, as intended. The
    /// server's answering close ends the receive loop; if none comes within a second, the connection is cut.</summary>
    static async Task ShutDownAsync(Connection connection)
    {
        try
        {
            await connection.CloseAsync(WebSocketCloseStatus.NormalClosure, "shutting down").ConfigureAwait(false);
            connection.Live.CancelAfter(TimeSpan.FromSeconds(1));
        }
        catch (ObjectDisposedException) { }
    }

    async Task<Ending> ReceiveLoopAsync(Connection connection, ClientWebSocket socket, CancellationToken token)
    {
        bool wasLive = false;
        while (true)
        {
            JsonNode? message;
            try
            {
                message = await connection.ReceiveAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException && connection.Ending is { } ended)
            {
                return ended; // the heartbeat task closed this connection (zombie)
            }
            catch (WebSocketException e)
            {
                return new Ending(ReconnectAction.Resume, null, $"connection lost: {e.Message}", wasLive);
            }
            if (message is null)
            {
                var ended = EndedByServer(socket, wasLive);
                // Complete the closing handshake, echoing the server's code (never 1000 on our own account).
                await connection.CloseAsync(socket.CloseStatus ?? (WebSocketCloseStatus)4000, "").ConfigureAwait(false);
                return ended;
            }

            var op = (GatewayOpcode)((int?)message["op"] ?? -1);
            switch (op)
            {
                case GatewayOpcode.Dispatch:
                {
                    long? s = (long?)message["s"];
                    if (s is { } seq) Interlocked.Exchange(ref _sequence, seq);
                    string type = (string?)message["t"] ?? "";
                    var data = message["d"];
                    if (type == "READY")
                    {
                        Volatile.Write(ref _sessionId, (string?)data?["session_id"]);
                        Volatile.Write(ref _resumeUrl, (string?)data?["resume_gateway_url"]);
                        _resumeUrlFailed = false;
                        wasLive = true;
                        _log.LogInformation("Discord gateway shard {Shard}: READY, session {Session}", ShardId, _sessionId);
                    }
                    else if (type == "RESUMED")
                    {
                        wasLive = true;
                        _log.LogInformation("Discord gateway shard {Shard}: RESUMED at sequence {Seq}", ShardId, s);
                    }
                    message.AsObject().Remove("d"); // detach so the handler owns it
                    await _dispatches.Writer.WriteAsync(new GatewayDispatch(ShardId, type, s ?? -1, data), token).ConfigureAwait(false);
                    break;
                }
                case GatewayOpcode.Heartbeat:
                    await connection.SendHeartbeatAsync(token).ConfigureAwait(false);
                    break;
                case GatewayOpcode.HeartbeatAck:
                    connection.Acknowledge(_time.GetTimestamp());
                    Latency = connection.Latency;
                    break;
                case GatewayOpcode.Reconnect:
                    await connection.CloseAsync((WebSocketCloseStatus)4000, "reconnect requested").ConfigureAwait(false);
                    return new Ending(ReconnectAction.Resume, null, "server asked to reconnect (op 7)", true);
                case GatewayOpcode.InvalidSession:
                {
                    bool resumable = message["d"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
                    var wait = _options.InvalidSessionMinDelay + (_options.InvalidSessionMaxDelay - _options.InvalidSessionMinDelay) * _jitter();
                    if (resumable)
                    {
                        await connection.CloseAsync((WebSocketCloseStatus)4000, "invalid session, resuming").ConfigureAwait(false);
                        return new Ending(ReconnectAction.Resume, null, "invalid session (op 9, resumable)", wasLive, wait);
                    }
                    await connection.CloseAsync(WebSocketCloseStatus.NormalClosure, "invalid session").ConfigureAwait(false);
                    return new Ending(ReconnectAction.Reidentify, null, "invalid session (op 9, not resumable)", wasLive, wait);
                }
                case GatewayOpcode.Hello:
                    break;
                default:
                    _log.LogDebug("Discord gateway shard {Shard}: ignoring op {Op}", ShardId, (int)op);
                    break;
            }
        }
    }

    Ending EndedByServer(ClientWebSocket socket, bool wasLive)
    {
        int? code = socket.CloseStatus is { } status ? (int)status : null;
        var action = GatewayCloseCodes.ActionFor(code);
        return new Ending(action, code, $"server closed with {GatewayCloseCodes.Describe(code)}" +
            (string.IsNullOrEmpty(socket.CloseStatusDescription) ? "" : $" ({socket.CloseStatusDescription})"), wasLive);
    }

    async Task HeartbeatAsync(Connection connection, TimeSpan interval)
    {
        var token = connection.Live.Token;
        try
        {
            await Task.Delay(interval * _jitter(), _time, token).ConfigureAwait(false);
            while (!token.IsCancellationRequested)
            {
                if (!connection.AckedSinceLastHeartbeat)
                {
                    // Zombie: no ACK between two heartbeats. Close with a non-1000 code so the session can be resumed.
                    _log.LogWarning("Discord gateway shard {Shard}: no HEARTBEAT_ACK within {Interval} ms; reconnecting to resume", ShardId, interval.TotalMilliseconds);
                    connection.End(new Ending(ReconnectAction.Resume, null, "heartbeat not acknowledged (zombie connection)", true));
                    await connection.CloseAsync((WebSocketCloseStatus)4000, "heartbeat ACK missing").ConfigureAwait(false);
                    connection.Live.Cancel();
                    return;
                }
                await connection.SendHeartbeatAsync(token).ConfigureAwait(false);
                await Task.Delay(interval, _time, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            _log.LogDebug("Discord gateway shard {Shard}: heartbeat stopped: {Error}", ShardId, e.Message);
        }
    }

    async Task ConsumeDispatchesAsync(CancellationToken cancellation)
    {
        await foreach (var dispatch in _dispatches.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                await _onDispatch(dispatch, cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested) { }
            catch (Exception e)
            {
                _log.LogError(e, "Discord gateway shard {Shard}: handler failed on {Type} (seq {Seq})", ShardId, dispatch.Type, dispatch.Sequence);
            }
        }
    }

    static Uri WithQuery(string url)
    {
        var builder = new UriBuilder(url);
        var query = System.Web.HttpUtility.ParseQueryString(builder.Query);
        query["v"] = "10";
        query["encoding"] = "json";
        builder.Query = query.ToString();
        return builder.Uri;
    }

    static string Truncate(string s) => s.Length <= 200 ? s : s[..200] + "…";

    /// <summary>One WebSocket: serialised sends under the rate budget, message reassembly, ACK bookkeeping.</summary>
    sealed class Connection(DiscordGatewayClient owner, ClientWebSocket socket, CancellationTokenSource live) : IDisposable
    {
        readonly SemaphoreSlim _sendTurn = new(1, 1);
        readonly SendBudget _budget = new(owner._options.GatewaySendLimit, owner._options.GatewaySendWindow,
            reserve: Math.Max(2, owner._options.GatewaySendLimit / 24));
        readonly byte[] _buffer = new byte[16 * 1024];
        volatile bool _acked = true;
        long _heartbeatSentAt;
        Ending? _ending;

        public CancellationTokenSource Live { get; } = live;
        public bool AckedSinceLastHeartbeat => _acked;
        public TimeSpan? Latency { get; private set; }
        public Ending? Ending => Volatile.Read(ref _ending);
        public void End(Ending ending) => Interlocked.CompareExchange(ref _ending, ending, null);

        public void Acknowledge(long now)
        {
            _acked = true;
            long sent = Interlocked.Read(ref _heartbeatSentAt);
            if (sent != 0) Latency = owner._time.GetElapsedTime(sent, now);
        }

        public async Task SendHeartbeatAsync(CancellationToken cancellation)
        {
            _acked = false;
            Interlocked.Exchange(ref _heartbeatSentAt, owner._time.GetTimestamp());
            await SendAsync(GatewayOpcode.Heartbeat, owner.Session.Sequence is { } s ? JsonValue.Create(s) : null, urgent: true, cancellation).ConfigureAwait(false);
        }

        public async Task SendAsync(GatewayOpcode op, JsonNode? data, bool urgent, CancellationToken cancellation)
        {
            byte[] payload = Encoding.UTF8.GetBytes(new JsonObject { ["op"] = (int)op, ["d"] = data }.ToJsonString());
            if (payload.Length >= MaxPayloadBytes)
                throw new ArgumentException($"Gateway payload for op {(int)op} is {payload.Length} bytes; Discord closes the connection (4002) at 4,096.", nameof(data));
            await _budget.AcquireAsync(urgent, cancellation).ConfigureAwait(false);
            await _sendTurn.WaitAsync(cancellation).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(payload, WebSocketMessageType.Text, endOfMessage: true, cancellation).ConfigureAwait(false);
            }
            finally
            {
                _sendTurn.Release();
            }
        }

        /// <summary>The next whole message as JSON, or null when the server closed the connection.</summary>
        public async Task<JsonNode?> ReceiveAsync(CancellationToken cancellation)
        {
            using var message = new MemoryStream();
            while (true)
            {
                var result = await socket.ReceiveAsync(_buffer, cancellation).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) return null;
                if (result.MessageType == WebSocketMessageType.Binary)
                    throw new GatewayProtocolException("binary frame received; this client asks for encoding=json without compression");
                message.Write(_buffer, 0, result.Count);
                if (message.Length > 64L * 1024 * 1024) throw new GatewayProtocolException("gateway message over 64 MiB");
                if (result.EndOfMessage) break;
            }
            message.Position = 0;
            return JsonNode.Parse(message) ?? throw new GatewayProtocolException("empty gateway message");
        }

        /// <summary>Sends a close frame with <paramref name="status"/> (best effort, short timeout) without waiting for the reply.</summary>
        public async Task CloseAsync(WebSocketCloseStatus status, string reason)
        {
            if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _sendTurn.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                socket.Abort(); // a send is stuck: the connection is dead anyway
                return;
            }
            try
            {
                await socket.CloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                socket.Abort();
            }
            finally
            {
                _sendTurn.Release();
            }
        }

        /// <summary>Stops the send budget's timers; a send still waiting for it throws <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose() => _budget.Dispose();
    }
}
