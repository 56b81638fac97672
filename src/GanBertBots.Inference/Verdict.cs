namespace GanBertBots.Inference;

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
