namespace GanBertBots.Inference;

/// <summary>The detector's answer for one text of a batch.</summary>
/// <param name="Probabilities">Every class with its probability, most likely first.</param>
/// <param name="RealProbability">Probability that a person wrote it.</param>
public sealed record DetectorOutput(string Label, IReadOnlyList<ClassProbability> Probabilities, double RealProbability, bool Truncated);

/// <summary>A detector behind the inference service. Same threading rules as <see cref="ITweetModel"/>.</summary>
public interface IDetectorModel : IDisposable
{
    string ModelVersion { get; }
    IReadOnlyList<string> Classes { get; }
    /// <summary>One output per text, in order.</summary>
    IReadOnlyList<DetectorOutput> DetectBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken);
}
