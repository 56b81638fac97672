using System.Text.Json;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;

namespace GanBertBots.Training.Registry;

/// <summary>
/// How the registry proves a checkpoint loads, per model name. The generator is loaded as a GPT-2 on the CPU, the
/// detector as a GAN-BERT detector on the CPU (config, vocabulary and every weight checked); a name without a loader of
/// its own must at least have a readable <c>config.json</c>. Other loaders are added with <see cref="With"/>.
/// </summary>
public sealed class CheckpointValidators
{
    readonly Dictionary<string, CheckpointValidator> _byName = new(StringComparer.Ordinal);

    /// <summary>Generator = GPT-2 load; detector = GAN-BERT detector load; everything else = config.json check.</summary>
    /// <param name="encoderDirectories">Where an adapter detector's base encoder may also be (the models folder); default models/.</param>
    public static CheckpointValidators Default(IReadOnlyList<string>? encoderDirectories = null) => new CheckpointValidators()
        .With("generator", LoadsAsGpt2)
        .With("detector", (name, directory) => LoadsAsDetector(name, directory, encoderDirectories));

    public CheckpointValidators With(string modelName, CheckpointValidator validator)
    {
        _byName[modelName] = validator;
        return this;
    }

    /// <summary>The validator to hand to <see cref="ModelRegistry"/>.</summary>
    public CheckpointValidator Validator => (name, directory) =>
    {
        if (_byName.TryGetValue(name, out var validator)) validator(name, directory);
        else HasReadableConfig(name, directory);
    };

    /// <summary>Loads the folder as a GPT-2 checkpoint on the CPU and frees it.</summary>
    public static void LoadsAsGpt2(string name, string directory)
    {
        using var model = Gpt2Checkpoint.Load(directory);
    }

    /// <summary>Loads the folder as a GAN-BERT detector on the CPU (config.json, vocab.txt, every tensor of model.safetensors by name and shape) and frees it.</summary>
    public static void LoadsAsDetector(string name, string directory, IReadOnlyList<string>? encoderDirectories = null)
    {
        using var detector = GanBertDetector.Load(directory, TorchPlacement.Cpu, encoderDirectories: encoderDirectories);
    }

    /// <summary>A <c>config.json</c> that parses as a JSON object.</summary>
    public static void HasReadableConfig(string name, string directory)
    {
        string path = Path.Combine(directory, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"config.json is missing in {directory}");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException("config.json is not a JSON object");
    }
}
