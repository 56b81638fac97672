using GanBertBots.Models.GanBert;

namespace GanBertBots.Inference;

/// <summary>What the evidence supports about who wrote a text, in words.</summary>
public enum VerdictJudgement
{
    /// <summary>No judgement: the verdict did not complete, or the detector has no human class.</summary>
    None,
    LikelyPerson,
    LikelyMachine,
    /// <summary>P(person) within the undecided band around 0.5.</summary>
    CantTell,
    /// <summary>Shorter than the detector's measured minimum length: the scores are shown, not trusted.</summary>
    TooShort,
    /// <summary>
    /// The detector scored every class, and the verdict's P(person), within <c>Inference:Verdict:EvenMargin</c> of an even
    /// split: it does not tell the classes apart on this text (an untrained detector does this for every text), so its
    /// P(person), which then only reflects how many classes are machines, is shown, not worded as a verdict.
    /// </summary>
    NoEvidence,
    /// <summary>
    /// The detector failed its evaluation gate (its held-out macro-F1 was not above always answering the commonest class)
    /// and is served only because <c>--force</c> let it through: its scores are shown for every text, never worded as a
    /// verdict. Steadier than <see cref="NoEvidence"/>, which a useless detector passes on some texts and not others.
    /// </summary>
    FailedGate,
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
    /// <summary>True when the (calibrated) P(person) is at least 0.5.</summary>
    public bool IsReal { get; init; }
    /// <summary>
    /// P(person) as the verdict states it: the detector's calibrated probability (temperature scaling, calibration.json),
    /// fused with the zero-shot score when the calibration has fusion weights and the score was available; the raw
    /// softmax when the detector has no calibration. NaN when the detector has no "human" class.
    /// </summary>
    public double CalibratedRealProbability { get; init; } = double.NaN;
    /// <summary>True when <see cref="CalibratedRealProbability"/> went through the detector's calibration.</summary>
    public bool Calibrated { get; init; }
    /// <summary>True when <see cref="CalibratedRealProbability"/> includes the zero-shot score (see <see cref="ZeroShotScore"/>).</summary>
    public bool Fused { get; init; }
    /// <summary>The served GPT-2's zero-shot score used by the fusion; NaN when not used.</summary>
    public double ZeroShotScore { get; init; } = double.NaN;
    /// <summary>The verdict in words: likely a person, likely a machine, can't tell, too short.</summary>
    public VerdictJudgement Judgement { get; init; }
    /// <summary>WordPiece tokens the detector read (0 when the detector does not say).</summary>
    public int TokenCount { get; init; }
    /// <summary>The detector's measured minimum length in tokens (0 = none measured).</summary>
    public int MinimumTokens { get; init; }
    /// <summary>The detector's held-out figures in a line (its checkpoint's gate); null when it was never measured.</summary>
    public string? DetectorHeldOutFigures { get; init; }
    /// <summary>True when the detector failed its evaluation gate and was let through with --force (see <see cref="VerdictJudgement.FailedGate"/>).</summary>
    public bool DetectorFailedGate { get; init; }
    /// <summary>The detector's fusion weights, carried from its batch to the fusion step.</summary>
    internal FusionWeights? FusionWeights { get; init; }
    /// <summary>True when the text was longer than the model's window and only its start was read.</summary>
    public bool Truncated { get; init; }
    public string ModelVersion { get; init; } = "";
    public string Message { get; init; } = "";
    public int BatchSize { get; init; }
    public TimeSpan QueueTime { get; init; }
    public TimeSpan ModelTime { get; init; }
    public bool IsCompleted => Outcome == InferenceOutcome.Completed;
}
