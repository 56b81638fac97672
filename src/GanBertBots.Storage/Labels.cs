namespace GanBertBots.Storage;

/// <summary>
/// The class vocabulary (configuration section "Labels"): who can have written a text. The conversation core offers
/// these classes for labelling and stores guesses and feedback in them, the corpus import accepts them as writers, the
/// detector trainers and the retraining round train on them. One list, so that a label given in chat means the same
/// class in the next round's detector.
/// </summary>
public sealed class Labels
{
    public const string Section = "Labels";

    /// <summary>Every class, in the order they are offered for labelling.</summary>
    public List<string> Classes { get; set; } = ["human", "chatGPT", "cohere", "davinci", "bloomz", "dolly", "gpt2"];

    /// <summary>The class meaning "a person wrote it" (real); imported corpus texts of people count as it.</summary>
    public string Human { get; set; } = "human";

    /// <summary>The class of our own generator's tweets.</summary>
    public string Generator { get; set; } = "gpt2";

    public static Labels Default { get; } = new();

    /// <summary>A class name is ASCII without ':', '.' or spaces: it travels inside signed button payloads.</summary>
    public static bool IsValidClassName(string name) =>
        name.Length is > 0 and <= 24 && name.All(ch => ch <= 127 && ch is not (':' or '.') && !char.IsWhiteSpace(ch));

    public void Validate()
    {
        if (Classes.Count < 2) throw new ArgumentException("Labels:Classes needs at least two classes");
        if (Classes.FirstOrDefault(c => !IsValidClassName(c)) is { } bad)
            throw new ArgumentException($"Labels:Classes entry '{bad}' must be 1-24 ASCII characters without ':', '.' or spaces");
        if (Classes.GroupBy(c => c, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"Labels:Classes names '{twice.Key}' twice");
        if (!Classes.Contains(Human)) throw new ArgumentException($"Labels:Human '{Human}' is not one of Labels:Classes ({string.Join(", ", Classes)})");
        if (!Classes.Contains(Generator)) throw new ArgumentException($"Labels:Generator '{Generator}' is not one of Labels:Classes ({string.Join(", ", Classes)})");
        if (Human == Generator) throw new ArgumentException("Labels:Human and Labels:Generator must differ");
    }
}
