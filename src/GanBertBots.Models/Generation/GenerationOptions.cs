namespace GanBertBots.Models.Generation;

/// <summary>How to continue a prompt. Defaults are plain sampling at temperature 1.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to add after the prompt.</summary>
    public int MaxNewTokens { get; init; } = 50;
    /// <summary>Softmax temperature; 0 means greedy (argmax), and then TopK/TopP/Seed do not matter.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Keep only the K most likely tokens (0: all).</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches P (1: all).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>CTRL-style penalty for tokens already in the prompt or output (1: none; 1.2 is a common choice).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Generation of a sequence ends when its text contains one of these; the text is cut before it.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = Array.Empty<string>();
    /// <summary>Beam search with this many beams when above 1 (deterministic; Temperature and sampling are not used).</summary>
    public int NumBeams { get; init; } = 1;
    /// <summary>Completions per prompt (at most NumBeams with beam search).</summary>
    public int NumReturnSequences { get; init; } = 1;
    /// <summary>Beam search: score = log-probability / length^LengthPenalty.</summary>
    public double LengthPenalty { get; init; } = 1.0;
    /// <summary>Seed for sampling; the same seed, prompt and options give the same text. Null: a fresh random seed.</summary>
    public long? Seed { get; init; }
    /// <summary>
    /// One seed per prompt, overriding <see cref="Seed"/>: prompt i's j-th completion samples with
    /// PromptSeeds[i] + j. Equal prompts in one batch then still differ (with a shared seed they are
    /// the same text, as the seed promises), and a prompt's sample does not depend on its batch.
    /// </summary>
    public IReadOnlyList<long>? PromptSeeds { get; init; }
    /// <summary>Stop a sequence when the model emits end-of-text.</summary>
    public bool StopAtEndOfText { get; init; } = true;

    public bool IsGreedy => Temperature == 0 && NumBeams <= 1;

    /// <summary>Throws ArgumentException with a message a user can act on.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentException($"max new tokens must be at least 1 (got {MaxNewTokens})");
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new ArgumentException($"temperature must be 0 (greedy) or positive (got {Temperature})");
        if (TopK < 0) throw new ArgumentException($"top-k must be 0 (off) or positive (got {TopK})");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1] (got {TopP})");
        if (!(RepetitionPenalty > 0)) throw new ArgumentException($"repetition penalty must be positive (got {RepetitionPenalty})");
        if (NumBeams < 1) throw new ArgumentException($"number of beams must be at least 1 (got {NumBeams})");
        if (NumReturnSequences < 1) throw new ArgumentException($"number of completions must be at least 1 (got {NumReturnSequences})");
        if (NumBeams > 1 && NumReturnSequences > NumBeams)
            throw new ArgumentException($"beam search returns at most {NumBeams} completions per prompt (asked for {NumReturnSequences})");
        if (StopSequences.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop sequences must not be empty");
    }
}

/// <summary>Why a sequence stopped.</summary>
public static class FinishReason
{
    public const string EndOfText = "eos";
    public const string Length = "length";
    public const string StopSequence = "stop";
    public const string Cancelled = "cancelled";
}

/// <summary>Token ids produced for one completion of one prompt.</summary>
/// <param name="PromptIndex">Which prompt of the request this continues.</param>
/// <param name="GeneratedIds">New tokens only (the end-of-text token included when it ended the sequence).</param>
/// <param name="Score">Beam search: length-normalised log-probability; otherwise the sum of log-probabilities of the chosen tokens.</param>
public sealed record GeneratedSequence(int PromptIndex, int[] PromptIds, int[] GeneratedIds, string FinishReason, double Score);

/// <summary>A token as it is produced (for streaming). Row = PromptIndex * NumReturnSequences + completion.</summary>
public readonly record struct TokenStep(int Row, int PromptIndex, int TokenId);
