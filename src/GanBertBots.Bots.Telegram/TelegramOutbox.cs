using System.Net;
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
    readonly object _gate = new();
    readonly Dictionary<long, DateTimeOffset> _nextInChat = [];
    readonly Dictionary<long, Queue<DateTimeOffset>> _groupMinute = [];
    DateTimeOffset _nextOverall;
    long _retries;

    /// <summary>How many 429 answers were retried.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Runs <paramref name="call"/> in its turn for <paramref name="chatId"/>, retrying after 429s.</summary>
    /// <param name="paced">False for calls that are not messages (chat actions, callback answers): they skip the queue but still honour 429.</param>
    public async Task<T> SendAsync<T>(long chatId, bool isGroup, bool paced, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (paced) await WaitTurnAsync(chatId, isGroup, ct);
            try
            {
                return await call(ct);
            }
            catch (ApiRequestException e) when (e.ErrorCode == (int)HttpStatusCode.TooManyRequests && attempt < options.MaxRetries)
            {
                int seconds = Math.Max(1, e.Parameters?.RetryAfter ?? 1);
                Interlocked.Increment(ref _retries);
                log?.LogWarning("Telegram said 429 for chat {Chat}; retrying after {Seconds} s", chatId, seconds);
                var until = _clock.GetUtcNow().AddSeconds(seconds);
                lock (_gate)
                    if (!_nextInChat.TryGetValue(chatId, out var next) || next < until) _nextInChat[chatId] = until;
                await Task.Delay(TimeSpan.FromSeconds(seconds), _clock, ct);
            }
        }
    }

    async Task WaitTurnAsync(long chatId, bool isGroup, CancellationToken ct)
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
            _nextOverall = slot.AddSeconds(1.0 / options.MessagesPerSecondOverall);
            _nextInChat[chatId] = slot.AddSeconds(1 / options.MessagesPerSecondPerChat);
            minute?.Enqueue(slot);
        }
        var wait = slot - _clock.GetUtcNow();
        if (wait > TimeSpan.Zero) await Task.Delay(wait, _clock, ct);
    }
}
