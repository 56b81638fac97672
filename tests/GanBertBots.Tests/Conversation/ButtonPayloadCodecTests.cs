using System.Text;
using GanBertBots.Conversation;

namespace GanBertBots.Tests.Bots;

public sealed class ButtonPayloadCodecTests
{
    static readonly ButtonPayloadCodec Codec = new("a-test-secret-of-enough-length");
    static readonly ChatPlace Chat = new("telegram", "-1001234567890", ChatKind.Group);

    [Theory]
    [InlineData(ButtonKind.GameGuess, 0L, "real")]
    [InlineData(ButtonKind.PickClass, 4_000_000_000_000L, "chatGPT")]
    [InlineData(ButtonKind.AnotherTweet, 42L, null)]
    public void Round_trips_within_64_bytes(ButtonKind kind, long id, string? arg)
    {
        string payload = Codec.Encode(new ButtonAction(kind, id, arg), Chat);
        Assert.True(Encoding.UTF8.GetByteCount(payload) <= 64, payload);
        Assert.Equal(PayloadCheck.Valid, Codec.TryDecode(payload, Chat, out var action));
        Assert.Equal(new ButtonAction(kind, id, arg), action);
    }

    [Fact]
    public void The_largest_id_with_the_longest_class_still_fits()
    {
        string payload = Codec.Encode(new ButtonAction(ButtonKind.ReviewLabel, long.MaxValue / 4096, "davinci002"), Chat);
        Assert.True(payload.Length <= ButtonPayloadCodec.MaxBytes);
    }

    [Fact]
    public void A_changed_body_fails_the_signature()
    {
        string payload = Codec.Encode(new ButtonAction(ButtonKind.PickClass, 7, "human"), Chat);
        string forged = payload.Replace(":human", ":gpt2");
        Assert.Equal(PayloadCheck.BadSignature, Codec.TryDecode(forged, Chat, out var action));
        Assert.Null(action);
    }

    [Fact]
    public void A_payload_replayed_in_another_chat_is_refused()
    {
        string payload = Codec.Encode(new ButtonAction(ButtonKind.ReviewLabel, 7, "human"), Chat);
        Assert.Equal(PayloadCheck.BadSignature, Codec.TryDecode(payload, Chat with { ChatId = "-1009999" }, out _));
        Assert.Equal(PayloadCheck.BadSignature, Codec.TryDecode(payload, Chat with { Platform = "discord" }, out _));
    }

    [Fact]
    public void A_payload_signed_with_another_secret_is_refused()
    {
        var other = new ButtonPayloadCodec("another-secret-of-enough-length");
        string payload = other.Encode(new ButtonAction(ButtonKind.ReviewLabel, 7, "human"), Chat);
        Assert.Equal(PayloadCheck.BadSignature, Codec.TryDecode(payload, Chat, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("x.")]
    [InlineData("a1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("🔥🔥🔥")]
    public void Garbage_is_malformed_not_an_exception(string payload) =>
        Assert.Equal(PayloadCheck.Malformed, Codec.TryDecode(payload, Chat, out _));

    [Fact]
    public void Arguments_that_would_break_the_layout_are_rejected_when_encoding()
    {
        Assert.Throws<ArgumentException>(() => Codec.Encode(new ButtonAction(ButtonKind.PickClass, 1, "a:b"), Chat));
        Assert.Throws<ArgumentException>(() => Codec.Encode(new ButtonAction(ButtonKind.PickClass, 1, new string('x', 60)), Chat));
        Assert.Throws<ArgumentException>(() => new ButtonPayloadCodec("short"));
    }

    sealed class MovableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void A_button_works_until_its_maximum_age_and_is_expired_after()
    {
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        var codec = new ButtonPayloadCodec("a-test-secret-of-enough-length", TimeSpan.FromDays(7), clock);
        string payload = codec.Encode(new ButtonAction(ButtonKind.VerdictRight, 99, "human"), Chat);
        clock.Now += TimeSpan.FromDays(7);
        Assert.Equal(PayloadCheck.Valid, codec.TryDecode(payload, Chat, out var action));
        Assert.Equal(new ButtonAction(ButtonKind.VerdictRight, 99, "human"), action);
        clock.Now += TimeSpan.FromMinutes(2);
        Assert.Equal(PayloadCheck.Expired, codec.TryDecode(payload, Chat, out action));
        Assert.Null(action);
        // The issue time is signed: moving it forward breaks the signature.
        string renewed = payload[0] + "zzzzzz" + payload[payload.IndexOf('-')..];
        Assert.Equal(PayloadCheck.BadSignature, codec.TryDecode(renewed, Chat, out _));
    }
}
