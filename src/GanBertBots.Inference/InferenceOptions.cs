namespace GanBertBots.Inference;

/// <summary>Batching limits of one queue.</summary>
public sealed class BatchingOptions
{
    /// <summary>Most requests merged into one model call.</summary>
    public int MaxBatchSize { get; set; } = 16;
    /// <summary>How long the oldest request may wait for others to join its batch.</summary>
    public int MaxWaitMs { get; set; } = 10;
    /// <summary>Requests waiting beyond this are refused at once with <see cref="InferenceOutcome.Busy"/>.</summary>
    public int QueueCapacity { get; set; } = 256;

    internal void Validate(string name)
    {
        if (MaxBatchSize < 1) throw new ArgumentException($"Inference:{name}:MaxBatchSize must be at least 1 (was {MaxBatchSize})");
        if (MaxWaitMs < 0) throw new ArgumentException($"Inference:{name}:MaxWaitMs must not be negative (was {MaxWaitMs})");
        if (QueueCapacity < 1) throw new ArgumentException($"Inference:{name}:QueueCapacity must be at least 1 (was {QueueCapacity})");
    }
}

/// <summary>How a verdict is put into words (section "Inference:Verdict").</summary>
public sealed class VerdictOptions
{
    /// <summary>"Can't tell" when the calibrated P(person) is within this of 0.5 (default 0.1: between 40% and 60%).</summary>
    public double UndecidedMargin { get; set; } = 0.1;
    /// <summary>
    /// "No evidence either way" when the detector scores every class within this of an even split 1/K and the verdict's
    /// P(person) is within it of 1/K too (default 0.05: between 15% and 25% for five classes); 0 turns the check off.
    /// </summary>
    public double EvenMargin { get; set; } = 0.05;

    internal void Validate()
    {
        if (!(UndecidedMargin >= 0 && UndecidedMargin < 0.5))
            throw new ArgumentException($"Inference:Verdict:UndecidedMargin must be at least 0 and below 0.5 (was {UndecidedMargin})");
        if (!(EvenMargin >= 0 && EvenMargin < 0.5))
            throw new ArgumentException($"Inference:Verdict:EvenMargin must be at least 0 and below 0.5 (was {EvenMargin})");
    }

    /// <summary>
    /// The words for a verdict: a detector that failed its gate first (none of its scores is to be trusted), then too short
    /// (this text's scores are not), then no evidence (every class scored within <see cref="EvenMargin"/> of an even split,
    /// see <see cref="DistanceFromEven"/>), then the band, then the side.
    /// </summary>
    /// <param name="distanceFromEven">How far the class scores are from an even split; +∞ (the default) skips the check.</param>
    /// <param name="detectorFailedGate">The detector failed its evaluation gate and was let through with --force.</param>
    public VerdictJudgement Judge(double realProbability, int tokens, int minimumTokens, double distanceFromEven = double.PositiveInfinity,
        bool detectorFailedGate = false)
    {
        if (double.IsNaN(realProbability)) return VerdictJudgement.None;
        if (detectorFailedGate) return VerdictJudgement.FailedGate;
        if (minimumTokens > 0 && tokens > 0 && tokens < minimumTokens) return VerdictJudgement.TooShort;
        if (distanceFromEven < EvenMargin) return VerdictJudgement.NoEvidence;
        if (Math.Abs(realProbability - 0.5) < UndecidedMargin) return VerdictJudgement.CantTell;
        return realProbability >= 0.5 ? VerdictJudgement.LikelyPerson : VerdictJudgement.LikelyMachine;
    }

    /// <summary>
    /// How far an answer is from an even split 1/K: the largest |p − 1/K| over the K raw class scores and the verdict's
    /// P(person) (calibrated or fused, so a calibration that sharpens a timid detector, or GPT-2's zero-shot evidence,
    /// moves the answer away from even); +∞ for fewer than two classes.
    /// </summary>
    public static double DistanceFromEven(IReadOnlyList<ClassProbability> scores, double personProbability)
    {
        if (scores.Count < 2) return double.PositiveInfinity;
        double even = 1.0 / scores.Count;
        return Math.Max(scores.Max(s => Math.Abs(s.Probability - even)), Math.Abs(personProbability - even));
    }
}

/// <summary>Configuration section "Inference".</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";
    /// <summary>auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>auto, float32, float16 or bfloat16.</summary>
    public string DType { get; set; } = "auto";
    public BatchingOptions Generation { get; set; } = new() { MaxBatchSize = 8, MaxWaitMs = 20, QueueCapacity = 64 };
    public BatchingOptions Detection { get; set; } = new() { MaxBatchSize = 32, MaxWaitMs = 5, QueueCapacity = 512 };
    /// <summary>Explanations (the served GPT-2's view of a text: ranks and zero-shot score), run on the generator's model.</summary>
    public BatchingOptions Explanation { get; set; } = new() { MaxBatchSize = 32, MaxWaitMs = 5, QueueCapacity = 512 };
    /// <summary>A request (queue wait plus model time) taking longer ends with <see cref="InferenceOutcome.TimedOut"/>. 0 = no limit.</summary>
    public double RequestTimeoutSeconds { get; set; } = 120;
    /// <summary>Settings of tweets whose request names none.</summary>
    public TweetSettings DefaultTweet { get; set; } = new();
    /// <summary>How verdicts are worded.</summary>
    public VerdictOptions Verdict { get; set; } = new();

    public void Validate()
    {
        Verdict.Validate();
        Generation.Validate(nameof(Generation));
        Detection.Validate(nameof(Detection));
        Explanation.Validate(nameof(Explanation));
        if (RequestTimeoutSeconds < 0) throw new ArgumentException("Inference:RequestTimeoutSeconds must not be negative");
    }
}
