using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using GanBertBots.Models.Bert;
using GanBertBots.Models.IO;
using GanBertBots.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.GanBert;

/// <summary>
/// Where the base encoders of adapter detectors are looked for besides the directory each stores: the folder that
/// <c>models pull</c> fills (Hub:ModelsDirectory). The service, the registry's load check and the round all use it.
/// </summary>
public sealed record BaseEncoderFolders(IReadOnlyList<string> Directories)
{
    /// <summary>The folders for a models directory (Hub:ModelsDirectory; "models" by default).</summary>
    public static BaseEncoderFolders For(string modelsDirectory) => new([modelsDirectory]);
}

/// <summary>
/// The pretrained encoder an adapter detector stands on: its directory as given when training, and the sha256 of its
/// <c>model.safetensors</c> (the weights the adapters were trained against).
/// </summary>
public sealed record BaseEncoderReference(string Directory, string Sha256)
{
    public JsonObject ToJson() => new() { ["directory"] = Directory, ["sha256"] = Sha256 };

    /// <summary>The reference to the encoder checkpoint in <paramref name="directory"/> (hashes its weights file).</summary>
    public static BaseEncoderReference Of(string directory) => new(directory, HashOf(directory));

    /// <summary>sha256 (hex) of a Hugging Face directory's model.safetensors.</summary>
    public static string HashOf(string directory)
    {
        using var stream = File.OpenRead(Path.Combine(directory, DetectorCheckpoint.WeightsFile));
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>What a trained detector directory's <c>config.json</c> says about it.</summary>
public sealed record DetectorConfig
{
    public const string Format = "ganbertbots-detector";
    public const int CurrentFormatVersion = 1;

    /// <summary>small, bert or distilbert.</summary>
    public required string Backbone { get; init; }
    public required BertConfig Encoder { get; init; }
    public required IReadOnlyList<string> Classes { get; init; }
    /// <summary>The class that counts as "real" (written by a person); every other class is "fake". Null when no class is human (e.g. "which model wrote this" among machines only).</summary>
    public string? RealClass { get; init; } = "human";
    public int MaxLength { get; init; } = 256;
    public bool LowerCase { get; init; } = true;
    public double HeadDropout { get; init; } = 0.1;
    public string ModelVersion { get; init; } = "";
    /// <summary>How the encoder pools its hidden states into one vector per text (stored in the encoder's config as "pooling").</summary>
    public Pooling Pooling => Encoder.Pooling;
    /// <summary>Set for an adapter detector: its checkpoint holds only adapters, LayerNorms and the head; the rest of the encoder is this one.</summary>
    public BaseEncoderReference? BaseEncoder { get; init; }
    /// <summary>Free-form facts about training (data, fraction of labels, seed, metrics).</summary>
    public JsonObject Training { get; init; } = new();

    public void Validate(string source)
    {
        if (Classes.Count < 2) throw new CheckpointException($"{source}: a detector needs at least two classes (got {Classes.Count})");
        if (Classes.Distinct(StringComparer.Ordinal).Count() != Classes.Count)
            throw new CheckpointException($"{source}: the class list has duplicates ({string.Join(", ", Classes)})");
        if (MaxLength < 3 || MaxLength > Encoder.MaxPositions)
            throw new CheckpointException($"{source}: max_length {MaxLength} must be between 3 and the encoder's {Encoder.MaxPositions} positions");
        if (RealClass is not null && !Classes.Contains(RealClass))
            throw new CheckpointException($"{source}: real class '{RealClass}' is not among the classes ({string.Join(", ", Classes)})");
    }

    public JsonObject ToJson() => new()
    {
        ["format"] = Format,
        ["format_version"] = CurrentFormatVersion,
        ["model_version"] = ModelVersion,
        ["backbone"] = Backbone,
        ["classes"] = new JsonArray(Classes.Select(c => (JsonNode)c).ToArray()),
        ["real_class"] = RealClass,
        ["max_length"] = MaxLength,
        ["lower_case"] = LowerCase,
        ["head_dropout"] = HeadDropout,
        ["encoder"] = Encoder.ToJson(),
        ["base_encoder"] = BaseEncoder?.ToJson(),
        ["training"] = JsonNode.Parse(Training.ToJsonString()),
    };

    public static DetectorConfig FromJson(JsonObject o, string source)
    {
        if (o["format"]?.GetValue<string>() != Format)
            throw new CheckpointException($"{source}: not a GAN-BERT detector (field 'format' is not '{Format}')");
        int version = o["format_version"]?.GetValue<int>() ?? 0;
        if (version != CurrentFormatVersion)
            throw new CheckpointException($"{source}: detector format version {version} is not supported (this build reads {CurrentFormatVersion})");
        T Field<T>(string name)
        {
            var n = o[name] ?? throw new CheckpointException($"{source}: field '{name}' is missing");
            try { return n.GetValue<T>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            { throw new CheckpointException($"{source}: field '{name}' has the wrong type ({n.ToJsonString()})"); }
        }
        var classes = (o["classes"] as JsonArray ?? throw new CheckpointException($"{source}: field 'classes' is missing or not a list"))
            .Select(c => c?.GetValue<string>() ?? throw new CheckpointException($"{source}: field 'classes' holds a null")).ToList();
        var config = new DetectorConfig
        {
            Backbone = Field<string>("backbone"),
            Encoder = BertConfig.FromJson(o["encoder"] as JsonObject ?? throw new CheckpointException($"{source}: field 'encoder' is missing"), source + " (encoder)"),
            Classes = classes,
            RealClass = o["real_class"]?.GetValue<string>(),
            MaxLength = Field<int>("max_length"),
            LowerCase = o["lower_case"]?.GetValue<bool>() ?? true,
            HeadDropout = o["head_dropout"]?.GetValue<double>() ?? 0.1,
            ModelVersion = o["model_version"]?.GetValue<string>() ?? "",
            Training = o["training"] as JsonObject is { } t ? (JsonObject)JsonNode.Parse(t.ToJsonString())! : new JsonObject(),
            BaseEncoder = o["base_encoder"] is JsonObject b
                ? new BaseEncoderReference(
                    b["directory"]?.GetValue<string>() ?? throw new CheckpointException($"{source}: field 'base_encoder.directory' is missing"),
                    b["sha256"]?.GetValue<string>() ?? throw new CheckpointException($"{source}: field 'base_encoder.sha256' is missing"))
                : null,
        };
        if (config.BaseEncoder is not null && config.Encoder.AdapterSize == 0)
            throw new CheckpointException($"{source}: names a base encoder but its encoder has no adapters (adapter_size)");
        config.Validate(source);
        return config;
    }
}

/// <summary>
/// A trained detector's directory: <c>config.json</c> (<see cref="DetectorConfig"/>),
/// <c>model.safetensors</c> (encoder in Hugging Face names under <c>bert.</c>/<c>distilbert.</c>,
/// head under <c>discriminator.</c> and <c>generator.</c>) and the tokenizer's <c>vocab.txt</c>.
/// </summary>
public static class DetectorCheckpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string VocabFile = "vocab.txt";

    /// <summary>
    /// Writes the detector. An adapter detector (<see cref="DetectorConfig.BaseEncoder"/> set) stores only the encoder's
    /// adapters and LayerNorms beside the head; the rest is read from the base encoder when loading.
    /// </summary>
    public static void Save(string directory, DetectorConfig config, GanBertNetwork network, string vocabSource)
    {
        Directory.CreateDirectory(directory);
        Func<string, bool>? encoderPart = config.BaseEncoder is null ? null : TrainedWithAdapters;
        var tensors = BertWeights.ToHuggingFace(network.Encoder, include: encoderPart)
            .Concat(network.Discriminator.named_parameters().Select(p => new KeyValuePair<string, Tensor>("discriminator." + p.name, p.parameter)))
            .Concat(network.Generator.named_parameters().Select(p => new KeyValuePair<string, Tensor>("generator." + p.name, p.parameter)));
        SafeTensors.Write(Path.Combine(directory, WeightsFile), tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["model_version"] = config.ModelVersion });
        string vocabTarget = Path.Combine(directory, VocabFile);
        if (!string.Equals(Path.GetFullPath(vocabSource), Path.GetFullPath(vocabTarget), StringComparison.Ordinal))
            File.Copy(vocabSource, vocabTarget, overwrite: true);
        WriteConfig(directory, config);
    }

    /// <summary>Rewrites a detector directory's config.json (atomically) without touching its weights.</summary>
    public static void WriteConfig(string directory, DetectorConfig config)
    {
        string configPath = Path.Combine(directory, ConfigFile);
        File.WriteAllText(configPath + ".partial", config.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(configPath + ".partial", configPath, overwrite: true);
    }

    /// <summary>
    /// Whether <see cref="GanBertDetector.Load"/> finds a detector in <paramref name="directory"/>: config.json that reads as
    /// a <see cref="DetectorConfig"/>, model.safetensors and vocab.txt. Names and config only; the weights are not opened.
    /// </summary>
    /// <param name="encoderDirectories">Where an adapter detector's base encoder may also be (as for <see cref="LoadNetwork"/>); default models/.</param>
    public static Loadability Check(string directory, IReadOnlyList<string>? encoderDirectories = null)
    {
        var files = Loadability.RequireFiles(directory, ConfigFile, WeightsFile, VocabFile);
        string path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path)) return files;
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object");
            var config = DetectorConfig.FromJson(o, ConfigFile);
            // An adapter detector also needs its base encoder's files (their hash is checked when loading).
            if (files.IsLoadable && config.BaseEncoder is { } reference) FindBaseEncoder(directory, reference, encoderDirectories);
            return files;
        }
        catch (Exception e) when (e is CheckpointException or JsonException or IOException or FormatException or InvalidOperationException)
        {
            return files with { Problem = e is CheckpointException ? e.Message : $"{ConfigFile}: cannot be read as a detector config ({e.Message})" };
        }
    }

    /// <summary>Whether config.json says "format": "ganbertbots-detector" (a detector folder, loadable or not).</summary>
    public static bool IsDetectorConfig(JsonElement config) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty("format", out var f)
        && f.ValueKind == JsonValueKind.String && f.GetString() == DetectorConfig.Format;

    public static DetectorConfig ReadConfig(string directory)
    {
        if (!Directory.Exists(directory)) throw new CheckpointException($"{directory}: detector directory not found");
        string path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found (a detector directory needs config.json, model.safetensors and vocab.txt)");
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object");
            var config = DetectorConfig.FromJson(o, path);
            if (config.ModelVersion.Length == 0)
                config = config with { ModelVersion = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(directory, WeightsFile))))[..12] };
            return config;
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: not valid JSON ({e.Message})", e); }
    }

    /// <summary>The encoder parameters an adapter detector trains and stores: adapters and LayerNorms.</summary>
    public static bool TrainedWithAdapters(string encoderParameter) =>
        BertWeights.IsAdapter(encoderParameter) || BertWeights.IsLayerNorm(encoderParameter);

    /// <summary>Where an adapter detector's base encoder is looked for besides its stored directory: the models directory.</summary>
    public static IReadOnlyList<string> DefaultEncoderDirectories { get; } = ["models"];

    /// <summary>
    /// The directory of an adapter detector's base encoder: the stored directory (as given, then relative to the detector),
    /// else a folder of the same name in one of <paramref name="encoderDirectories"/>; its model.safetensors must have the
    /// stored sha256.
    /// </summary>
    /// <exception cref="CheckpointException">Not found (naming every place looked), or found with other weights.</exception>
    public static string ResolveBaseEncoder(string detectorDirectory, BaseEncoderReference reference, IReadOnlyList<string>? encoderDirectories = null)
    {
        string found = FindBaseEncoder(detectorDirectory, reference, encoderDirectories);
        string hash = BaseEncoderReference.HashOf(found);
        if (!string.Equals(hash, reference.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException($"{detectorDirectory}: base encoder {found} has other weights than the detector was trained on " +
                $"({WeightsFile} sha256 {hash[..12]}…, expected {reference.Sha256[..Math.Min(12, reference.Sha256.Length)]}…); use the same encoder files");
        return found;
    }

    /// <summary>Where the base encoder's files are (not yet checked against the hash).</summary>
    /// <exception cref="CheckpointException">Not found, naming every place looked.</exception>
    public static string FindBaseEncoder(string detectorDirectory, BaseEncoderReference reference, IReadOnlyList<string>? encoderDirectories = null)
    {
        string name = Path.GetFileName(reference.Directory.TrimEnd('/', '\\'));
        var candidates = new List<string> { reference.Directory };
        if (!Path.IsPathRooted(reference.Directory)) candidates.Add(Path.Combine(detectorDirectory, reference.Directory));
        candidates.AddRange((encoderDirectories ?? DefaultEncoderDirectories).Select(d => Path.Combine(d, name)));
        string? found = candidates.Distinct().FirstOrDefault(d => File.Exists(Path.Combine(d, WeightsFile)) && File.Exists(Path.Combine(d, ConfigFile)));
        if (found is null)
            throw new CheckpointException($"{detectorDirectory}: its base encoder '{reference.Directory}' was not found (looked for config.json and " +
                $"{WeightsFile} in {string.Join(", ", candidates.Distinct())}); the detector holds only adapters and its head: put the encoder it was " +
                $"trained on there (e.g. `ganbertbots models pull` into models/{name})");
        return found;
    }

    /// <summary>Builds the network of a detector directory and loads its weights (every tensor checked by name and shape).</summary>
    /// <param name="encoderDirectories">Where an adapter detector's base encoder may also be (default <see cref="DefaultEncoderDirectories"/>).</param>
    public static GanBertNetwork LoadNetwork(string directory, DetectorConfig config, TorchPlacement placement, IReadOnlyList<string>? encoderDirectories = null)
    {
        var checkpoint = SafeTensorsCheckpoint.Open(Path.Combine(directory, WeightsFile));
        string? baseDirectory = config.BaseEncoder is { } reference ? ResolveBaseEncoder(directory, reference, encoderDirectories) : null;
        var network = new GanBertNetwork(new BertEncoder(config.Encoder), config.Classes.Count, config.HeadDropout);
        try
        {
            if (baseDirectory is null) BertWeights.LoadInto(network.Encoder, checkpoint);
            else
            {
                // The frozen weights from the base encoder, then what training moved from the detector's own file.
                BertWeights.LoadInto(network.Encoder, SafeTensorsCheckpoint.Open(baseDirectory), include: n => !TrainedWithAdapters(n));
                BertWeights.LoadInto(network.Encoder, checkpoint, include: TrainedWithAdapters);
            }
            LoadHead(network.Discriminator, "discriminator.", checkpoint);
            LoadHead(network.Generator, "generator.", checkpoint);
            network.to(placement.Device, placement.DType);
            network.eval();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    static void LoadHead(nn.Module module, string prefix, SafeTensorsCheckpoint checkpoint)
    {
        using var noGrad = no_grad();
        foreach (var (name, param) in module.named_parameters())
            BertWeights.CopyChecked(checkpoint, prefix + name, param);
    }
}
