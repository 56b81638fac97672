using System.Collections.Concurrent;
using GanBertBots.Conversation;
using GanBertBots.Storage;

namespace GanBertBots.Tests.Bots;

/// <summary>A real SQLite label store in a fresh temporary folder, deleted afterwards.</summary>
public sealed class TempLabelStore : IAsyncDisposable
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "ganbertbots-bots-" + Guid.NewGuid().ToString("N")[..12]);
    public ILabelStore Store { get; private set; } = null!;

    public static async Task<TempLabelStore> OpenAsync()
    {
        var temp = new TempLabelStore();
        temp.Store = await LabelStore.OpenAsync(new StorageOptions { DataDirectory = temp.Folder });
        return temp;
    }

    /// <summary>Every label with its text, oldest first.</summary>
    public async Task<List<LabelForTraining>> LabelsAsync()
    {
        var list = new List<LabelForTraining>();
        await foreach (var l in Store.ExportLabelsAsync()) list.Add(l);
        return list;
    }

    public async Task<List<StoredText>> TextsAsync()
    {
        var list = new List<StoredText>();
        for (long id = 1; await Store.GetTextAsync(id) is { } t; id++) list.Add(t);
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
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

    /// <summary>Runs when a button press is acknowledged, before the acknowledgement is recorded.</summary>
    public Func<Task>? BeforeAck { get; set; }

    public async Task AcknowledgeButtonAsync(string? notice, CancellationToken ct)
    {
        if (BeforeAck != null) await BeforeAck();
        lock (Acks) Acks.Add(notice);
        Events.Enqueue("ack");
    }

    /// <summary>The text of the last message sent or edited.</summary>
    public Reply Last => Messages[Events.Where(e => e.StartsWith("send:") || e.StartsWith("edit:")).Last().Split(':')[1]];
}
