using GanBertBots.Models;

namespace GanBertBots.Training.Detector;

/// <summary>
/// The layout of a public data set <c>train-detector</c> knows by name (<c>--preset m4</c>): which columns hold the text,
/// the label and the group a held-out split must keep whole, a window that fits its texts, and the fine-tuning run that
/// was measured on it (the README's MiniLM rows: 4 epochs of batch 16 at 1e-4). Every value is only a default: an option
/// given on the command line wins.
/// </summary>
public sealed record DetectorPreset(string Name, string Describes, string TextField, string LabelField, string GroupField,
    double TestFraction, int MaxLength)
{
    public int Epochs { get; init; } = 4;
    public int BatchSize { get; init; } = 16;
    /// <summary>For a pretrained encoder (bert, distilbert); the small backbone keeps its own default.</summary>
    public double PretrainedLearningRate { get; init; } = 1e-4;

    public static readonly IReadOnlyList<DetectorPreset> All =
    [
        // M4 (Wang et al. 2024), the arXiv part: one abstract per class per paper, so a paper (source_id) stays on one side.
        new("m4", "M4 .jsonl (text, label, source_id): human vs chatGPT, cohere, davinci, dolly", "text", "label", "source_id", 0.2, 128),
        // ArguGPT (Liu et al. 2023): essays per prompt, so a prompt (prompt_id) stays on one side.
        new("argugpt", "ArguGPT .csv (text, model, prompt_id): which model wrote an essay", "text", "model", "prompt_id", 0.2, 128),
    ];

    /// <summary>The preset whose group field <paramref name="fields"/> has (a file in M4's or ArguGPT's layout), or null.</summary>
    public static DetectorPreset? GroupedBy(IEnumerable<string> fields) =>
        All.FirstOrDefault(p => fields.Contains(p.GroupField, StringComparer.Ordinal));

    public static DetectorPreset Find(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UserFacingException($"unknown --preset '{name}' (known: {string.Join(", ", All.Select(p => p.Name))})");
}
