using System.Text.RegularExpressions;

namespace GanBertBots.Models.Hub;

/// <summary>The kinds of checkpoint this product runs, which decide the tokenizer files a checkpoint needs.</summary>
public enum CheckpointFamily
{
    /// <summary>GPT-2 and its distillations: byte-level BPE (vocab.json + merges.txt).</summary>
    Gpt2,
    /// <summary>BERT and DistilBERT encoders: WordPiece (vocab.txt).</summary>
    Bert,
}

/// <summary>A checkpoint to fetch: which hub repository, and under which name it lives locally.</summary>
/// <param name="LocalName">Folder name under the models directory.</param>
/// <param name="RepoId">"owner/name" on the hub.</param>
/// <param name="Family">Known up front for the catalogue names; otherwise read from config.json's model_type.</param>
public sealed record HubCheckpoint(string LocalName, string RepoId, CheckpointFamily? Family)
{
    /// <summary>The checkpoints this product knows by a short name.</summary>
    public static IReadOnlyList<HubCheckpoint> Catalogue { get; } =
    [
        new("gpt2", "openai-community/gpt2", CheckpointFamily.Gpt2),
        new("distilgpt2", "distilbert/distilgpt2", CheckpointFamily.Gpt2),
        new("bert-base-uncased", "google-bert/bert-base-uncased", CheckpointFamily.Bert),
        new("distilbert-base-uncased", "distilbert/distilbert-base-uncased", CheckpointFamily.Bert),
    ];

    static readonly Regex RepoPart = new(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$");

    /// <summary>
    /// A catalogue name ("gpt2") or any "owner/name" repository id; <paramref name="localName"/>
    /// overrides the folder name (default: the catalogue name, or the part after the slash).
    /// </summary>
    /// <exception cref="UserFacingException">The name is neither in the catalogue nor a valid owner/name.</exception>
    public static HubCheckpoint Resolve(string name, string? localName = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var known = Catalogue.FirstOrDefault(c => string.Equals(c.LocalName, name, StringComparison.OrdinalIgnoreCase)
                                                  || string.Equals(c.RepoId, name, StringComparison.OrdinalIgnoreCase));
        HubCheckpoint checkpoint;
        if (known is not null) checkpoint = known;
        else
        {
            string[] parts = name.Split('/');
            if (parts.Length != 2 || !parts.All(p => RepoPart.IsMatch(p) && !p.Contains("..")))
                throw new UserFacingException(
                    $"'{name}' is not a known model ({string.Join(", ", Catalogue.Select(c => c.LocalName))}) nor a hub repository id of the form owner/name");
            checkpoint = new HubCheckpoint(parts[1], name, null);
        }
        if (localName is not null)
        {
            if (!RepoPart.IsMatch(localName) || localName.Contains(".."))
                throw new UserFacingException($"'{localName}' is not a usable local model name (letters, digits, '.', '_', '-')");
            checkpoint = checkpoint with { LocalName = localName };
        }
        return checkpoint;
    }

    /// <summary>The family a config.json model_type belongs to, or null for one this product cannot run.</summary>
    public static CheckpointFamily? FamilyOf(string? modelType) => modelType switch
    {
        "gpt2" => CheckpointFamily.Gpt2,
        "bert" or "distilbert" => CheckpointFamily.Bert,
        _ => null,
    };

    /// <summary>Files a checkpoint of a family cannot run without.</summary>
    public static IReadOnlyList<string> RequiredFiles(CheckpointFamily family) => family switch
    {
        CheckpointFamily.Gpt2 => ["config.json", "model.safetensors", "vocab.json", "merges.txt"],
        CheckpointFamily.Bert => ["config.json", "model.safetensors", "vocab.txt"],
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    /// <summary>Files fetched where the repository has them.</summary>
    public static IReadOnlyList<string> OptionalFiles { get; } =
        ["tokenizer_config.json", "tokenizer.json", "special_tokens_map.json", "generation_config.json"];
}
