namespace GanBertBots.Training.Detector;

/// <summary>
/// Which epoch's weights a run keeps: the best validation macro-F1 so far (ties go to the
/// earlier epoch, so a later epoch must be strictly better), and how many epochs have passed
/// without improvement, for early stopping with a patience.
/// </summary>
public sealed record EpochSelection(int BestEpoch, double BestScore, int EpochsSinceBest)
{
    public const string Rule = "best validation macro-F1 (ties: the earlier epoch)";
    public const string LastEpochRule = "last epoch (no validation split)";

    /// <summary>Nothing seen yet.</summary>
    public static EpochSelection Start { get; } = new(0, double.NegativeInfinity, 0);

    /// <summary>Whether <paramref name="score"/> beats the best so far (strictly; NaN never does).</summary>
    public bool Improves(double score) => score > BestScore;

    /// <summary>The selection after an epoch scored <paramref name="score"/>.</summary>
    public EpochSelection Observe(int epoch, double score) =>
        Improves(score) ? new EpochSelection(epoch, score, 0) : this with { EpochsSinceBest = EpochsSinceBest + 1 };

    /// <summary>True when <paramref name="patience"/> epochs in a row brought no improvement (patience 0 = never).</summary>
    public bool PatienceExhausted(int patience) => patience > 0 && BestEpoch > 0 && EpochsSinceBest >= patience;
}
