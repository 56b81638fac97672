namespace GanBertBots.Training.Rounds;

/// <summary>A text with a class and how much it counts ("human", "gpt2", ...).</summary>
public sealed record WeightedText(string Text, string Class, double Weight, string Source);

/// <summary>What the detector learns from this round (step 2), gathered from the label store.</summary>
/// <param name="Labelled">Moderator labels (weight 1) and the weaker user-feedback and game labels (their weights).</param>
/// <param name="Unlabelled">User-submitted texts nobody labelled (the GAN-BERT unlabelled term).</param>
/// <param name="HeldOut">Labelled texts kept out of training, for the gate: the same split every round.</param>
public sealed record RoundData(
    IReadOnlyList<WeightedText> Labelled, IReadOnlyList<string> Unlabelled, IReadOnlyList<WeightedText> HeldOut);

/// <summary>Gathers <see cref="RoundData"/>; the default reads the label store (<see cref="LabelStoreRoundData"/>).</summary>
public interface IRoundDataSource
{
    Task<RoundData> LoadAsync(CancellationToken cancellation);
}
