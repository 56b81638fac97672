using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GanBertBots.Common;
using GanBertBots.Conversation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace GanBertBots.Bots.Telegram;

/// <summary>
/// The Telegram bot as a hosted service: long polling (default) or webhook (the application maps
/// <see cref="TelegramWebhookEndpoint.MapTelegramWebhook"/> on its one listener; updates arrive through
/// <see cref="ReceiveWebhookAsync"/>). Either way every update goes through <see cref="TelegramUpdateRouter"/>.
/// </summary>
public sealed class TelegramBotService : BackgroundService
{
    readonly TelegramOptions _options;
    readonly InlineVerdicts? _inline;
    readonly TelegramCommandMenu? _menu;
    readonly IConversation _conversation;
    readonly ILogger _log;
    readonly HttpClient _http;
    readonly TaskCompletionSource<TelegramUpdateRouter> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Cancels the handling of updates: only after the ones in flight had <see cref="DrainLimit"/> to finish.</summary>
    readonly CancellationTokenSource _answering = new();
    /// <summary>How long a stop waits for updates in flight (inside the host's 8 s shutdown budget).</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(6);
    /// <summary>Webhook mode: cancelled when the service starts stopping (new updates are refused from then on).</summary>
    CancellationToken _intake;

    /// <param name="inline">Answers inline queries ("@bot text"); null: the bot does not take them.</param>
    /// <param name="menu">The command menu set at start (with <see cref="TelegramOptions.RegisterCommands"/>); null: none is set.</param>
    public TelegramBotService(TelegramOptions options, IConversation conversation, ILogger<TelegramBotService> log, HttpClient? http = null,
        InlineVerdicts? inline = null, TelegramCommandMenu? menu = null)
    {
        _inline = inline;
        _menu = menu;
        options.Validate();
        _options = options;
        _conversation = conversation;
        _log = log;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(options.PollingTimeoutSeconds + 30) };
        Client = new TelegramBotClient(new TelegramBotClientOptions(options.BotToken, options.ApiBaseUrl) { RetryCount = 0 }, _http);
        Outbox = new TelegramOutbox(options, log);
    }

    public ITelegramBotClient Client { get; }
    public TelegramOutbox Outbox { get; }
    /// <summary>Completes once getMe answered and updates are being received.</summary>
    public Task<TelegramUpdateRouter> Ready => _ready.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        User me;
        while (true)
        {
            try { me = await Client.GetMe(stoppingToken); break; }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                _log.LogError("Telegram getMe failed ({Message}); is Telegram:BotToken right? Retrying in 10 s", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(10), stoppingToken);
            }
        }
        if (_menu is not null && _options.RegisterCommands) await _menu.SetAsync(Client, _log, stoppingToken);
        var router = new TelegramUpdateRouter(Client, _conversation, Outbox, _options, me.Username ?? "", _log, _inline);
        _log.LogInformation("Telegram bot @{Name} started ({Mode})", me.Username, _options.IsWebhook ? "webhook" : "long polling");
        // Stopping: no new updates are taken; the ones in flight get DrainLimit to be answered (inside each mode's
        // loop), then are cancelled and their chats told the bot is restarting.
        if (_options.IsWebhook) await RunWebhookAsync(router, stoppingToken);
        else await PollAsync(router, stoppingToken);
        _answering.Cancel();
    }

    /// <summary>
    /// Long polling with confirmation after handling: getUpdates' offset only moves past an update once it has been
    /// handled (or skipped as unreadable), so a process killed mid-way gets the unfinished updates again at its next
    /// start. Updates fetched again while still in flight are not dispatched twice; handling is idempotent where it
    /// stores (a relabel replaces, a game guess counts once), so a redelivery after a crash doubles nothing.
    /// </summary>
    async Task PollAsync(TelegramUpdateRouter router, CancellationToken ct)
    {
        // A webhook left over from webhook mode would make getUpdates fail.
        await Client.DeleteWebhook(cancellationToken: ct);
        _ready.TrySetResult(router);
        long nextNew = 0;              // every update below this id has been dispatched or skipped
        var inFlight = new SortedSet<long>();
        var finished = new SemaphoreSlim(0);
        // 1 s doubling to 60 s, without jitter: Telegram serves one getUpdates per bot at a time, so no herd to spread.
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60)) { Jitter = 0 };
        int failures = 0;
        while (!ct.IsCancellationRequested)
        {
            long offset;
            lock (inFlight) offset = inFlight.Count > 0 ? inFlight.Min : nextNew;
            TelegramUpdateBatch batch;
            try
            {
                batch = await TelegramUpdateBatch.FetchAsync(_http, _options, offset, ct);
                failures = 0;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                // A 429's retry_after wins over the backoff (which still grows with each failure in a row).
                int retryAfter = (e as TelegramApiError)?.RetryAfterSeconds ?? 0;
                var wait = retryAfter > 0 ? TimeSpan.FromSeconds(retryAfter) : backoff.DelayFor(failures);
                _log.LogWarning("getUpdates failed ({Message}); retrying in {Seconds} s", e.Message, wait.TotalSeconds);
                await Task.Delay(wait, ct);
                failures++;
                continue;
            }
            foreach (var (id, reason) in batch.Skipped)
                if (id is null || id >= nextNew)
                    _log.LogWarning("Telegram update {Update} is not readable and was skipped: {Reason}", id?.ToString() ?? "(no id)", reason);
            int taken = 0;
            foreach (var update in batch.Updates.Where(u => u.Id >= nextNew).OrderBy(u => u.Id))
            {
                long id = update.Id;
                lock (inFlight) inFlight.Add(id);
                taken++;
                _ = router.DispatchAsync(update, _answering.Token).ContinueWith(_ =>
                {
                    lock (inFlight) inFlight.Remove(id);
                    finished.Release();
                }, TaskScheduler.Default);
            }
            nextNew = Math.Max(nextNew, batch.NextOffset);
            // Only updates already in flight came back: wait for one to finish rather than asking again at once.
            if (taken == 0 && batch.Updates.Count > 0)
            {
                try { await finished.WaitAsync(TimeSpan.FromMilliseconds(250), ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            }
        }

        // Stopping: let the updates in flight finish, then confirm what was handled, so that the next start does not
        // get them again (a crash skips this, and then they do come again: at least once).
        if (!await router.DrainAsync(DrainLimit))
            _log.LogWarning("Stopping: updates still in flight after {Seconds} s are cancelled", DrainLimit.TotalSeconds);
        long handled;
        lock (inFlight) handled = inFlight.Count > 0 ? inFlight.Min : nextNew;
        using var confirm = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await TelegramUpdateBatch.FetchAsync(_http, _options, handled, confirm.Token, waitSeconds: 0); }
        catch (Exception e) { _log.LogWarning("Could not confirm the handled updates at stop ({Message}); they will come again", e.Message); }
    }

    async Task RunWebhookAsync(TelegramUpdateRouter router, CancellationToken ct)
    {
        // The endpoint itself is on the application's one listener (MapTelegramWebhook); here Telegram is told where it is.
        if (!string.IsNullOrWhiteSpace(_options.WebhookUrl))
            await Client.SetWebhook(_options.WebhookUrl, secretToken: _options.WebhookSecret,
                allowedUpdates: [UpdateType.Message, UpdateType.CallbackQuery, UpdateType.InlineQuery], cancellationToken: ct);
        else _log.LogWarning("Telegram:WebhookUrl is empty: the endpoint listens, but Telegram was not told where it is (setWebhook)");
        _intake = ct;
        _ready.TrySetResult(router);
        try { await Task.Delay(Timeout.Infinite, ct); }
        catch (OperationCanceledException) { }
        if (!await router.DrainAsync(DrainLimit))
            _log.LogWarning("Stopping: updates still in flight after {Seconds} s are cancelled", DrainLimit.TotalSeconds);
    }


    /// <summary>
    /// Webhook mode: one update posted to the endpoint. Refuses (401) a request without the right
    /// X-Telegram-Bot-Api-Secret-Token, 400 for a body that is not an update, 503 until the bot has started (Telegram
    /// retries); otherwise answers 200 once the update has been handled, so a process that dies first leaves it to
    /// Telegram to deliver again (at least once, as long polling does; a redelivery doubles nothing that is stored).
    /// An update still running after <see cref="WebhookAnswerLimit"/> is confirmed anyway and finishes in the background,
    /// so that Telegram does not time out and deliver a slow one twice.
    /// </summary>
    public async Task<IResult> ReceiveWebhookAsync(HttpContext http)
    {
        var expected = Encoding.UTF8.GetBytes(_options.WebhookSecret);
        var given = Encoding.UTF8.GetBytes(http.Request.Headers["X-Telegram-Bot-Api-Secret-Token"].ToString());
        if (!CryptographicOperations.FixedTimeEquals(given, expected))
        {
            _log.LogWarning("Webhook call from {Address} without the right secret token refused", http.Connection.RemoteIpAddress);
            return Results.Unauthorized();
        }
        Update? update;
        try { update = await JsonSerializer.DeserializeAsync<Update>(http.Request.Body, JsonBotAPI.Options, http.RequestAborted); }
        catch (JsonException e)
        {
            _log.LogWarning("Webhook body is not an update: {Message}", e.Message);
            return Results.BadRequest();
        }
        if (update is null) return Results.BadRequest();
        TelegramUpdateRouter router;
        try { router = await Ready.WaitAsync(TimeSpan.FromSeconds(10), http.RequestAborted); }
        catch (TimeoutException) { return Results.StatusCode(StatusCodes.Status503ServiceUnavailable); }
        // Stopping: take no new update (Telegram, or the load balancer, delivers it again, to another replica).
        if (_intake.IsCancellationRequested) return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        var handled = router.DispatchAsync(update, _answering.Token);
        try { await handled.WaitAsync(WebhookAnswerLimit, http.RequestAborted); }
        catch (TimeoutException) { _log.LogWarning("Telegram update {Update} still running after {Seconds} s: confirmed, it finishes here", update.Id, WebhookAnswerLimit.TotalSeconds); }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested) { } // Telegram hung up: it delivers again
        catch (Exception) { /* the router logged it; the update was taken, do not have it delivered again */ }
        return Results.Ok();
    }

    /// <summary>Longest a webhook call waits for its update to be handled before answering 200 anyway.</summary>
    public static readonly TimeSpan WebhookAnswerLimit = TimeSpan.FromSeconds(30);

    public override void Dispose()
    {
        base.Dispose();
        _answering.Dispose();
        _http.Dispose();
    }
}

/// <summary>The webhook endpoint on the application's listener.</summary>
public static class TelegramWebhookEndpoint
{
    /// <summary>Largest webhook body accepted (an update with a long message and its entities is a few KiB).</summary>
    public const int MaxWebhookBodyBytes = 1 << 20;

    /// <summary>Maps POST <c>Telegram:WebhookPath</c> to <paramref name="bot"/>'s <see cref="TelegramBotService.ReceiveWebhookAsync"/>.</summary>
    public static IEndpointConventionBuilder MapTelegramWebhook(this IEndpointRouteBuilder app, TelegramBotService bot, TelegramOptions options) =>
        app.MapPost(options.WebhookPath, (Func<HttpContext, Task<IResult>>)bot.ReceiveWebhookAsync)
            // Updates are small; Kestrel refuses a larger body (413) as it arrives, before it is buffered.
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxWebhookBodyBytes));
}
