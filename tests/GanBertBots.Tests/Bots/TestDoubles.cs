using System.Collections.Concurrent;
using GanBertBots.Conversation;

namespace GanBertBots.Tests.Bots;

/// <summary>A label store in memory with the same rules as the real one (one label per user, source and text).</summary>
public sealed class MemoryConversationStore : IConversationStore
{
    readonly object _gate = new();
    /// <summary>Told of every write, after it is kept (tests order writes against acknowledgements with it).</summary>
    public Action<string>? OnWrite { get; set; }
    public List<(long Id, NewText Text)> Texts { get; } = [];
    public List<NewLabel> Labels { get; } = [];
    public List<NewPrediction> Predictions { get; } = [];
    public Dictionary<string, (string Name, UserRole Role)> Users { get; } = [];

    public Task RecordUserAsync(string userId, string displayName, UserRole role, CancellationToken ct)
    { lock (_gate) Users[userId] = (displayName, role); return Task.CompletedTask; }

    public Task<long> AddTextAsync(NewText text, CancellationToken ct)
    {
        lock (_gate) { long id = Texts.Count + 1; Texts.Add((id, text)); OnWrite?.Invoke("text"); return Task.FromResult(id); }
    }

    public Task<StoredText?> GetTextAsync(long id, CancellationToken ct)
    {
        lock (_gate)
        {
            var hit = Texts.FirstOrDefault(t => t.Id == id);
            return Task.FromResult(hit.Text is null ? null : ToStored(hit.Id, hit.Text));
        }
    }

    static StoredText ToStored(long id, NewText t) => new(id, t.Content, t.Origin, t.ModelVersion, t.Prompt);

    public Task AddPredictionAsync(NewPrediction prediction, CancellationToken ct) { lock (_gate) Predictions.Add(prediction); return Task.CompletedTask; }

    public Task<bool> AddLabelAsync(NewLabel label, CancellationToken ct)
    {
        lock (_gate)
        {
            if (Labels.Any(l => l.TextId == label.TextId && l.UserId == label.UserId && l.Source == label.Source)) return Task.FromResult(false);
            Labels.Add(label);
            OnWrite?.Invoke("label");
            return Task.FromResult(true);
        }
    }

    public Task<StoredText?> NextUnlabelledAsync(IReadOnlyCollection<long> skipped, CancellationToken ct)
    {
        lock (_gate)
        {
            var hit = Texts.FirstOrDefault(t => !skipped.Contains(t.Id) && !Labels.Any(l => l.TextId == t.Id && l.Source == LabelSource.Moderator));
            return Task.FromResult(hit.Text is null ? null : ToStored(hit.Id, hit.Text));
        }
    }

    public Task<StoredText?> RandomCorpusTextAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            var hit = Texts.FirstOrDefault(t => t.Text.Origin == TextOrigin.Corpus);
            return Task.FromResult(hit.Text is null ? null : ToStored(hit.Id, hit.Text));
        }
    }

    public Task<LabelStatistics> GetStatisticsAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            long unlabelled = Texts.Count(t => !Labels.Any(l => l.TextId == t.Id && l.Source == LabelSource.Moderator));
            var bySource = Labels.GroupBy(l => l.Source).ToDictionary(g => g.Key, g => (long)g.Count());
            return Task.FromResult(new LabelStatistics(Texts.Count, unlabelled, bySource));
        }
    }

    public Task<GameScore> GetGameScoreAsync(string userId, CancellationToken ct)
    {
        lock (_gate)
        {
            var guesses = Labels.Where(l => l.UserId == userId && l.Source == LabelSource.GameGuess).ToList();
            int right = guesses.Count(g => (Texts.First(t => t.Id == g.TextId).Text.Origin == TextOrigin.Corpus) == (g.Label == "human"));
            return Task.FromResult(new GameScore(right, guesses.Count));
        }
    }
}

/// <summary>Records what the core sends to one chat, with message ids like a platform would assign.</summary>
public sealed class RecordingChatOutput(string chatId = "chat-1", TimeSpan? editInterval = null) : IChatOutput
{
    int _nextId = 100;
    public TimeSpan EditInterval { get; } = editInterval ?? TimeSpan.Zero;
    public int MaxMessageLength => 4096;
    public ConcurrentQueue<string> Events { get; } = new();
    public ConcurrentDictionary<string, Reply> Messages { get; } = new();
    public List<Reply> Sent { get; } = [];
    public List<(string MessageId, Reply Reply)> Edits { get; } = [];
    public List<string?> Acks { get; } = [];
    public int Typing;

    public Task<SentReply> SendAsync(Reply reply, CancellationToken ct)
    {
        string id = Interlocked.Increment(ref _nextId).ToString();
        lock (Sent) Sent.Add(reply);
        Messages[id] = reply;
        Events.Enqueue("send:" + id);
        return Task.FromResult(new SentReply(chatId, id));
    }

    public Task EditAsync(SentReply message, Reply reply, CancellationToken ct)
    {
        lock (Edits) Edits.Add((message.MessageId, reply));
        Messages[message.MessageId] = reply;
        Events.Enqueue("edit:" + message.MessageId);
        return Task.CompletedTask;
    }

    public Task ShowTypingAsync(CancellationToken ct) { Interlocked.Increment(ref Typing); Events.Enqueue("typing"); return Task.CompletedTask; }

    public Task AcknowledgeButtonAsync(string? notice, CancellationToken ct) { lock (Acks) Acks.Add(notice); Events.Enqueue("ack"); return Task.CompletedTask; }

    /// <summary>The text of the last message sent or edited.</summary>
    public Reply Last => Messages[Events.Where(e => e.StartsWith("send:") || e.StartsWith("edit:")).Last().Split(':')[1]];
}
