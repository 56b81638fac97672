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
