namespace GanBertBots.Models.GanBert;

/// <summary>How much one token pushed the answer towards "machine" (gradient × input; positive = towards machine).</summary>
public sealed record TokenAttribution(string Token, double Score);

/// <summary>
/// The detector's answer for one text, in plain .NET types.
/// </summary>
/// <param name="Label">The most probable class.</param>
/// <param name="Probabilities">Probability of each class (softmax over the k real-class logits), in the configured class order.</param>
/// <param name="Real">P(human), the configured real class; null when the detector has no human class.</param>
/// <param name="Fake">1 − P(human): any machine; null when the detector has no human class.</param>
/// <param name="Truncated">True when the text was longer than the model's max length and only its start was read.</param>
/// <param name="ModelVersion">Which trained detector answered.</param>
/// <param name="Explanation">Tokens that pushed towards "machine", strongest first; null unless asked for.</param>
public sealed record DetectionResult(
    string Label,
    IReadOnlyDictionary<string, double> Probabilities,
    double? Real,
    double? Fake,
    bool Truncated,
    string ModelVersion,
    IReadOnlyList<TokenAttribution>? Explanation = null);
