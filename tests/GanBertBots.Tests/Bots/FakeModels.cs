using System.Collections.Concurrent;
using GanBertBots.Inference;

namespace GanBertBots.Tests.Bots;

/// <summary>
/// A deterministic tweet "model" for testing the service around it: the tweet is a fixed function of the topic,
/// every batch call is recorded, and a gate can hold a call inside the model until the test releases it.
/// </summary>
public sealed class FakeTweetModel(string version = "fake-gpt2-v1") : ITweetModel
{
    public string ModelVersion { get; } = version;
    public ConcurrentQueue<IReadOnlyList<string?>> Batches { get; } = new();
    /// <summary>When set, a call waits here (observing its cancellation token) before answering.</summary>
    public ManualResetEventSlim? Gate { get; set; }
    public SemaphoreSlim Entered { get; } = new(0);
    public volatile bool Disposed;
    public int? DisposedOnThread;
    public CancellationToken LastToken;
    public Exception? Throw { get; set; }
    /// <summary>Pause after each word, so streaming can be watched.</summary>
    public TimeSpan WordDelay { get; set; }

    public static string TweetFor(string? topic) => $"Breaking: {(string.IsNullOrEmpty(topic) ? "something" : topic)} reported downtown #news";

    public IReadOnlyList<GeneratedTweet> GenerateBatch(IReadOnlyList<string?> topics, TweetSettings settings,
        Action<int, string>? onPartialText, CancellationToken cancellationToken)
    {
        if (Disposed) throw new ObjectDisposedException(nameof(FakeTweetModel));
        Batches.Enqueue(topics.ToList());
        LastToken = cancellationToken;
        Entered.Release();
        Gate?.Wait(cancellationToken);
        if (Throw is { } e) throw e;
        var result = new List<GeneratedTweet>();
        for (int i = 0; i < topics.Count; i++)
        {
            string text = TweetFor(topics[i]);
            var words = text.Split(' ');
            for (int w = 1; w <= words.Length; w++)
            {
                onPartialText?.Invoke(i, string.Join(' ', words.Take(w)));
                if (WordDelay > TimeSpan.Zero) Thread.Sleep(WordDelay);
            }
            result.Add(new GeneratedTweet(text, "prompt: " + topics[i], "eos", words.Length));
        }
        return result;
    }

    public void Dispose() { Disposed = true; DisposedOnThread = Environment.CurrentManagedThreadId; }
}

/// <summary>A deterministic detector: the class is picked by the text's length, so each caller's answer is checkable.</summary>
public sealed class FakeDetectorModel(string version = "fake-ganbert-v1") : IDetectorModel
{
    public static readonly string[] ClassNames = ["human", "chatGPT", "cohere", "davinci", "bloomz", "dolly", "gpt2"];
    public string ModelVersion { get; } = version;
    public IReadOnlyList<string> Classes => ClassNames;
    public ConcurrentQueue<IReadOnlyList<string>> Batches { get; } = new();
    public ManualResetEventSlim? Gate { get; set; }
    public SemaphoreSlim Entered { get; } = new(0);
    public volatile bool Disposed;
    public int MaxChars { get; set; } = 512;
    /// <summary>When set, P(person) for every text (else 0.8 for "human" texts and 0.2 for the others).</summary>
    public double? PersonProbability { get; set; }

    public static string LabelFor(string text) => ClassNames[text.Length % ClassNames.Length];

    public IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        if (Disposed) throw new ObjectDisposedException(nameof(FakeDetectorModel));
        Batches.Enqueue(texts.ToList());
        Entered.Release();
        Gate?.Wait(cancellationToken);
        return texts.Select(t =>
        {
            string label = LabelFor(t);
            var probs = ClassNames.Select(c => new ClassProbability(c, c == label ? 0.7 : 0.05)).OrderByDescending(p => p.Probability).ToList();
            return new DetectorOutput(label, probs, PersonProbability ?? (label == "human" ? 0.8 : 0.2), t.Length > MaxChars);
        }).ToList();
    }

    public void Dispose() => Disposed = true;
}
