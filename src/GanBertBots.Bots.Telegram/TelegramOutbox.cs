using System.Net;
using GanBertBots.Common;
using Microsoft.Extensions.Logging;
using Telegram.Bot.Exceptions;

namespace GanBertBots.Bots.Telegram;

/// <summary>
/// Paces what the bot sends so Telegram's limits hold: at most N messages per second in one chat, M per minute in a
/// group, K per second overall (spaced 1/K s apart). A call that has to wait is queued (its turn reserved, then awaited), never dropped.
/// A 429 answer's retry_after is honoured: the call waits that long, and the whole chat with it, then tries again.
/// </summary>
public sealed class TelegramOutbox(TelegramOptions options, ILogger? log = null, TimeProvider? clock = null)
{
    readonly TimeProvider _clock = clock ?? TimeProvider.System;
    // 0.5-0.75 s, 1-1.5 s, 2-3 s ... (up to 30 s): jittered, so that replicas do not retry in step.
    readonly Backoff _backoff = new(TimeSpan.FromSeconds(0.75), TimeSpan.FromSeconds(30)) { Jitter = 1.0 / 3 };
    readonly object _gate = new();
    readonly Dictionary<long, DateTimeOffset> _nextInChat = [];
    readonly Dictionary<long, Queue<DateTimeOffset>> _groupMinute = [];
    readonly Dictionary<long, SemaphoreSlim> _chatTurns = [];
    DateTimeOffset _nextOverall;
    long _retries;

    /// <summary>How many 429 answers were retried.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Runs <paramref name="call"/> in its turn for <paramref name="chatId"/>, retrying after 429s (when Telegram says) and 5xx answers (with back-off).</summary>
    /// <param name="paced">False for calls that are not messages (chat actions, callback answers): they skip the queue but still honour 429.</param>
    /// <param name="safeToRepeat">
    /// True for calls that may run twice without harm (an edit to the same text, a chat action, a callback answer, a
    /// read): after a network error they are retried like a 5xx. A new message is not: the first try may have landed.
    /// </param>
    public async Task<T> SendAsync<T>(long chatId, bool isGroup, bool paced, Func<CancellationToken, Task<T>> call, CancellationToken ct,
        bool safeToRepeat = false)
    {
        // One paced call per chat at a time, and the next one's turn counts from when this one was answered: Telegram
        // sees a message when it arrives, so spacing reservations alone could let a slow request and a quick one land close together.
        SemaphoreSlim? chatTurn = null;
        if (paced)
        {
            lock (_gate)
                if (!_chatTurns.TryGetValue(chatId, out chatTurn)) _chatTurns[chatId] = chatTurn = new SemaphoreSlim(1, 1);
            await chatTurn.WaitAsync(ct);
        }
        try
        {
            // Two budgets, so not one retry policy: 429s wait Telegram's retry_after up to MaxRateLimitWaitSeconds in all,
            // failures back off up to MaxRetries times; every try waits its turn in the chat's pace first.
            double waitedForRateLimit = 0;
            for (int attempt = 0; ; attempt++)
            {
                if (paced) await WaitTurnAsync(chatId, isGroup, ct);
                try
                {
                    return await call(ct);
                }
                catch (ApiRequestException e) when (e.ErrorCode == (int)HttpStatusCode.TooManyRequests
                    && waitedForRateLimit + Math.Max(1, e.Parameters?.RetryAfter ?? 1) <= options.MaxRateLimitWaitSeconds)
                {
                    int seconds = Math.Max(1, e.Parameters?.RetryAfter ?? 1);
                    waitedForRateLimit += seconds;
                    Interlocked.Increment(ref _retries);
                    log?.LogWarning("Telegram said 429 for chat {Chat}; retrying after {Seconds} s", chatId, seconds);
                    var until = _clock.GetUtcNow().AddSeconds(seconds);
                    lock (_gate)
                        if (!_nextInChat.TryGetValue(chatId, out var next) || next < until) _nextInChat[chatId] = until;
                    await Task.Delay(TimeSpan.FromSeconds(seconds), _clock, ct);
                }
                catch (RequestException e) when (attempt < options.MaxRetries && !ct.IsCancellationRequested
                    && (e is ApiRequestException { ErrorCode: >= 500 } || (e is not ApiRequestException && safeToRepeat)))
                {
                    // Telegram answered that it failed (nothing was posted), or the call is safe to repeat after a lost
                    // connection: trying again cannot post twice.
                    var wait = _backoff.DelayFor(attempt);
                    Interlocked.Increment(ref _retries);
                    log?.LogWarning("Telegram call for chat {Chat} failed ({Error}); retrying in {Seconds:0.0} s", chatId, e.Message, wait.TotalSeconds);
                    await Task.Delay(wait, _clock, ct);
                }
            }
        }
        finally
        {
            if (chatTurn != null)
            {
                var after = _clock.GetUtcNow() + Spacing(options.MessagesPerSecondPerChat);
                lock (_gate)
                    if (!_nextInChat.TryGetValue(chatId, out var next) || next < after) _nextInChat[chatId] = after;
                chatTurn.Release();
            }
        }
    }

    async Task WaitTurnAsync(long chatId, bool isGroup, CancellationToken ct)
    {
        var slot = ReserveSlot(chatId, isGroup);
        var wait = slot - _clock.GetUtcNow();
        if (wait > TimeSpan.Zero) await Task.Delay(wait, _clock, ct);
    }

    /// <summary>1/rate seconds, rounded up to whole ticks (rounded down, K sends could fit in a window a tick short of a second).</summary>
    static TimeSpan Spacing(double perSecond) => TimeSpan.FromTicks((long)Math.Ceiling(TimeSpan.TicksPerSecond / perSecond));

    /// <summary>Reserves the earliest moment a message to this chat may go out under all three limits.</summary>
    public DateTimeOffset ReserveSlot(long chatId, bool isGroup)
    {
        DateTimeOffset slot;
        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            slot = now;
            if (_nextInChat.TryGetValue(chatId, out var chatNext) && chatNext > slot) slot = chatNext;
            Queue<DateTimeOffset>? minute = null;
            if (isGroup)
            {
                if (!_groupMinute.TryGetValue(chatId, out minute)) _groupMinute[chatId] = minute = new Queue<DateTimeOffset>();
                while (minute.Count > 0 && minute.Peek() <= now.AddMinutes(-1)) minute.Dequeue();
                if (minute.Count >= options.MessagesPerMinutePerGroup)
                {
                    var earliest = minute.ElementAt(minute.Count - options.MessagesPerMinutePerGroup).AddMinutes(1);
                    if (earliest > slot) slot = earliest;
                }
            }
            // Overall: reservations spaced 1/K s apart, which keeps any one-second window at K or fewer.
            if (_nextOverall > slot) slot = _nextOverall;
            _nextOverall = slot + Spacing(options.MessagesPerSecondOverall);
            _nextInChat[chatId] = slot + Spacing(options.MessagesPerSecondPerChat);
            minute?.Enqueue(slot);
        }
        return slot;
    }
}
