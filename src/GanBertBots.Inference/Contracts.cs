namespace GanBertBots.Inference;

/// <summary>How a request to the inference service ended (besides cancellation by the caller, which throws).</summary>
public enum InferenceOutcome
{
    /// <summary>The model answered.</summary>
    Completed,
    /// <summary>The queue was full: nothing was run, try again later. Answered at once.</summary>
    Busy,
    /// <summary>No model is loaded for this kind of request (<c>Message</c> says so in a sentence for chat users; the operator's log has what to run).</summary>
    Unavailable,
    /// <summary>The request waited or ran longer than the configured timeout.</summary>
    TimedOut,
    /// <summary>The model threw; <c>Message</c> says what.</summary>
    Failed,
}

/// <summary>Sampling settings of one tweet. Requests with equal settings can share a batch.</summary>
public sealed record TweetSettings
{
    public int MaxNewTokens { get; init; } = 60;
    /// <summary>0 means greedy.</summary>
    public double Temperature { get; init; } = 0.9;
    public int TopK { get; init; } = 50;
    public double TopP { get; init; } = 0.95;
    public double RepetitionPenalty { get; init; } = 1.1;
    /// <summary>Fixed seed for reproducible output; null draws fresh randomness.</summary>
    public long? Seed { get; init; }
}

/// <summary>Ask for one generated disaster tweet.</summary>
/// <param name="Topic">A keyword ("earthquake") or a free prompt; null or empty for anything.</param>
/// <param name="Settings">Sampling settings; null uses the service defaults.</param>
public sealed record TweetRequest(string? Topic, TweetSettings? Settings = null);

/// <summary>A generated tweet, or why there is none.</summary>
public sealed record TweetResult
{
    public required InferenceOutcome Outcome { get; init; }
    /// <summary>The finished tweet (at most 280 characters); empty unless <see cref="Outcome"/> is Completed.</summary>
    public string Text { get; init; } = "";
    /// <summary>The prompt text the model was given.</summary>
    public string Prompt { get; init; } = "";
    public string ModelVersion { get; init; } = "";
    /// <summary>Why generation stopped (e.g. "length", "stop", "eos").</summary>
    public string FinishReason { get; init; } = "";
    public int GeneratedTokens { get; init; }
    public TweetSettings Settings { get; init; } = new();
    /// <summary>For outcomes other than Completed: a sentence for the user.</summary>
    public string Message { get; init; } = "";
    /// <summary>How many requests shared the model call.</summary>
    public int BatchSize { get; init; }
    public TimeSpan QueueTime { get; init; }
    public TimeSpan ModelTime { get; init; }
    public bool IsCompleted => Outcome == InferenceOutcome.Completed;
}

/// <summary>One class and its probability.</summary>
public readonly record struct ClassProbability(string Label, double Probability);

/// <summary>What the detector thinks of a text.</summary>
public sealed record Verdict
{
    public required InferenceOutcome Outcome { get; init; }
    /// <summary>Most likely class ("human", "chatGPT", "gpt2", ...).</summary>
    public string Label { get; init; } = "";
    /// <summary>Every class with its probability, most likely first.</summary>
    public IReadOnlyList<ClassProbability> Probabilities { get; init; } = [];
    /// <summary>Probability that a person wrote the text; NaN when the detector has no "human" class.</summary>
    public double RealProbability { get; init; }
    /// <summary>True when the detector thinks a person wrote the text.</summary>
    public bool IsReal { get; init; }
    /// <summary>True when the text was longer than the model's window and only its start was read.</summary>
    public bool Truncated { get; init; }
    public string ModelVersion { get; init; } = "";
    public string Message { get; init; } = "";
    public int BatchSize { get; init; }
    public TimeSpan QueueTime { get; init; }
    public TimeSpan ModelTime { get; init; }
    public bool IsCompleted => Outcome == InferenceOutcome.Completed;
}

/// <summary>What the rest of the product may ask of the models. Nothing above this touches a tensor.</summary>
public interface IInferenceService
{
    /// <param name="partialText">Receives the tweet text so far as tokens arrive (may be called on the worker thread: keep it cheap).</param>
    Task<TweetResult> GenerateAsync(TweetRequest request, IProgress<string>? partialText = null, CancellationToken cancellationToken = default);
    Task<Verdict> DetectAsync(string text, CancellationToken cancellationToken = default);
    /// <summary>Version of the loaded generator, or null when none is loaded.</summary>
    string? GeneratorVersion { get; }
    /// <summary>Version of the loaded detector, or null when none is loaded.</summary>
    string? DetectorVersion { get; }
    /// <summary>Class names the detector answers with (empty when none is loaded).</summary>
    IReadOnlyList<string> DetectorClasses { get; }
}
