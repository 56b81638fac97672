using GanBertBots.Bots.Telegram;

namespace GanBertBots.Tests.Bots;

/// <summary>The outbound pacing against Telegram's limits, on a clock that stands still (slots are reserved, not slept).</summary>
public sealed class TelegramOutboxTests
{
    sealed class StillClock : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    static TelegramOptions Limits() => new() { BotToken = "1:x", MessagesPerSecondPerChat = 1, MessagesPerMinutePerGroup = 20, MessagesPerSecondOverall = 30 };

    [Fact]
    public void One_chat_gets_one_message_per_second()
    {
        var clock = new StillClock();
        var outbox = new TelegramOutbox(Limits(), clock: clock);
        var slots = Enumerable.Range(0, 5).Select(_ => (outbox.ReserveSlot(42, isGroup: false) - clock.Now).TotalSeconds).ToList();
        Assert.Equal([0, 1, 2, 3, 4], slots.Select(s => Math.Round(s, 3)));
    }

    [Fact]
    public void A_group_gets_at_most_twenty_per_minute()
    {
        var clock = new StillClock();
        var outbox = new TelegramOutbox(Limits(), clock: clock);
        var slots = Enumerable.Range(0, 22).Select(_ => (outbox.ReserveSlot(-100, isGroup: true) - clock.Now).TotalSeconds).ToList();
        Assert.Equal(19, slots[19], 3);          // the 20th at 19 s (1 per second)
        Assert.Equal(60, slots[20], 3);          // the 21st waits until the 1st leaves the minute
        Assert.Equal(61, slots[21], 3);
        for (int i = 0; i < slots.Count; i++)    // any 60-second window holds at most 20
            Assert.True(slots.Count(t => t > slots[i] - 60 && t <= slots[i]) <= 20);
    }

    [Fact]
    public void All_chats_together_get_at_most_thirty_per_second()
    {
        var clock = new StillClock();
        var outbox = new TelegramOutbox(Limits(), clock: clock);
        var slots = Enumerable.Range(0, 90).Select(c => (outbox.ReserveSlot(c, isGroup: false) - clock.Now).TotalSeconds).ToList();
        Assert.Equal(0, slots[0], 6);
        Assert.True(slots[30] >= 1.0 - 1e-9, $"31st message at {slots[30]} s");
        for (int i = 0; i < slots.Count; i++)
            Assert.True(slots.Count(t => t > slots[i] - 1 + 1e-9 && t <= slots[i]) <= 30);
        Assert.True(slots[^1] < 3.0); // queued, and not slower than the limit requires
    }
}
