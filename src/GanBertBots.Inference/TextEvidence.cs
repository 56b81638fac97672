namespace GanBertBots.Inference;

/// <summary>One token of a text as the served GPT-2 saw it (GLTR's view, Gehrmann et al. 2019).</summary>
/// <param name="Text">The token's text as it appears in the input (byte-level pieces decoded; may start with a space).</param>
/// <param name="Rank">1 = the token GPT-2 found most likely at this position; the first token has no context and gets rank 0.</param>
/// <param name="LogProbability">Natural-log probability of the token given the ones before it (0 for the first token).</param>
public readonly record struct TokenEvidence(string Text, int Rank, double LogProbability);

/// <summary>A sentence of the text: a run of tokens and how machine-like it reads.</summary>
/// <param name="FirstToken">Index into <see cref="TextEvidence.Tokens"/>.</param>
/// <param name="MachineLikelihood">0 (reads as a person's) to 1 (reads as a machine's).</param>
public readonly record struct SentenceEvidence(int FirstToken, int TokenCount, double MachineLikelihood);

/// <summary>Why a text looks the way it does to the served GPT-2: per-token ranks and the zero-shot score.</summary>
public sealed record TextEvidence
{
    public required InferenceOutcome Outcome { get; init; }
    public IReadOnlyList<TokenEvidence> Tokens { get; init; } = [];
    public IReadOnlyList<SentenceEvidence> Sentences { get; init; } = [];
    /// <summary>Fast-DetectGPT's analytical sampling discrepancy (Bao et al. 2024) under the served GPT-2; higher = more machine-like. NaN when not computed.</summary>
    public double ZeroShotScore { get; init; } = double.NaN;
    /// <summary>True when the text was longer than the scorer's window and only its start was read.</summary>
    public bool Truncated { get; init; }
    /// <summary>Version of the GPT-2 that scored the text.</summary>
    public string ScorerVersion { get; init; } = "";
    public string Message { get; init; } = "";
    public bool IsCompleted => Outcome == InferenceOutcome.Completed;
}
