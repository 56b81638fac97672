using System.Security.Cryptography;
using System.Text;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;

namespace GanBertBots.Models.Generation;

/// <summary>A finished completion of one prompt.</summary>
/// <param name="Text">The generated text only (not the prompt), cut before a stop sequence, without end-of-text.</param>
public sealed record Completion(int PromptIndex, string Text, int[] PromptIds, int[] GeneratedIds, string FinishReason, double Score);

/// <summary>A token as it streams out, with the row's text so far (whole characters only, stop sequences cut).</summary>
public readonly record struct TokenEvent(int SequenceIndex, int PromptIndex, int TokenId, string TextSoFar);

/// <summary>
/// GPT-2 text in, text out: a checkpoint's model and tokenizer together. One instance serves one
/// thread at a time (the inference worker); it owns the model and its generator (with the CPU decoder's
/// threads) and frees them on Dispose.
/// </summary>
public sealed class TextGenerator : IDisposable
{
    readonly Gpt2LMHeadModel _model;
    readonly Gpt2Generator _generator;

    public Gpt2Tokenizer Tokenizer { get; }
    public Gpt2LMHeadModel Model => _model;
    public TorchPlacement Placement { get; }
    /// <summary>Identifies the weights: the checkpoint's recorded version, else folder name and a digest of its files.</summary>
    public string ModelVersion { get; }

    public TextGenerator(Gpt2LMHeadModel model, Gpt2Tokenizer tokenizer, TorchPlacement placement, string modelVersion)
    {
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new CheckpointException($"tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize}: they do not belong together");
        _model = model;
        _generator = new Gpt2Generator(model);
        Tokenizer = tokenizer;
        Placement = placement;
        ModelVersion = modelVersion;
    }

    /// <summary>Whether <see cref="Load"/> finds what it reads in <paramref name="directory"/>: the GPT-2 checkpoint's files and a tokenizer layout.</summary>
    public static Loadability Check(string directory) => Gpt2Checkpoint.Check(directory).And(Gpt2Tokenizer.Check(directory));

    /// <summary>Loads model, tokenizer and version from a Hugging Face style checkpoint directory.</summary>
    public static TextGenerator Load(string directory, TorchPlacement? placement = null)
    {
        placement ??= TorchPlacement.Cpu;
        var tokenizer = Gpt2Tokenizer.Load(directory);
        var model = Gpt2Checkpoint.Load(directory, placement);
        try { return new TextGenerator(model, tokenizer, placement, ModelVersions.Describe(directory)); }
        catch { model.Dispose(); throw; }
    }

    /// <param name="prependEndOfText">Start each prompt with &lt;|endoftext|&gt;, i.e. as a new document (what the tweet preset does).</param>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<string> prompts, GenerationOptions options,
        Action<TokenEvent>? onToken = null, CancellationToken cancellation = default, bool prependEndOfText = false)
    {
        var ids = prompts.Select(p =>
        {
            var encoded = Tokenizer.Encode(p ?? "");
            return prependEndOfText ? encoded.Prepend(Tokenizer.EndOfTextId).ToArray() : encoded;
        }).ToList();
        for (int i = 0; i < ids.Count; i++)
            if (ids[i].Length == 0) throw new ArgumentException($"prompt {i} is empty; give some text or start it as a new document");
        return GenerateFromIds(ids, options, onToken, cancellation);
    }

    public IReadOnlyList<Completion> GenerateFromIds(IReadOnlyList<int[]> prompts, GenerationOptions options,
        Action<TokenEvent>? onToken = null, CancellationToken cancellation = default)
    {
        int n = options.NumBeams > 1 ? 1 : options.NumReturnSequences;
        int rows = prompts.Count * n;
        var decoders = Enumerable.Range(0, rows).Select(_ => Tokenizer.CreateStreamingDecoder()).ToArray();
        var texts = Enumerable.Range(0, rows).Select(_ => new StringBuilder()).ToArray();
        var stops = options.StopSequences;

        // Text is assembled from a streaming decoder per row, so a character split across tokens
        // appears once it is whole; stop sequences are looked for in that text.
        void Consume(int row, int token)
        {
            if (token != Tokenizer.EndOfTextId) texts[row].Append(decoders[row].Push(token));
        }
        bool Stop(int row, IReadOnlyList<int> generated)
        {
            if (options.NumBeams > 1 || stops.Count == 0) return false;
            string s = texts[row].ToString();
            return stops.Any(x => s.Contains(x, StringComparison.Ordinal));
        }
        void OnToken(TokenStep step)
        {
            Consume(step.Row, step.TokenId);
            onToken?.Invoke(new TokenEvent(step.Row, step.PromptIndex, step.TokenId, CutAtStop(texts[step.Row].ToString(), stops)));
        }

        var sequences = _generator.Generate(prompts, options, Stop, OnToken, cancellation);
        return sequences.Select((s, i) =>
        {
            // Beam search reports at the end; sampling streamed its text already.
            string text = options.NumBeams > 1 ? Tokenizer.Decode(s.GeneratedIds.Where(t => t != Tokenizer.EndOfTextId))
                                               : texts[i].Append(decoders[i].Flush()).ToString();
            return new Completion(s.PromptIndex, CutAtStop(text, stops), s.PromptIds, s.GeneratedIds, s.FinishReason, s.Score);
        }).ToList();
    }

    /// <summary>Text before the earliest stop sequence.</summary>
    public static string CutAtStop(string text, IReadOnlyList<string> stops)
    {
        int cut = text.Length;
        foreach (var s in stops)
        {
            int at = text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && at < cut) cut = at;
        }
        return text[..cut];
    }

    public void Dispose()
    {
        _generator.Dispose();
        _model.Dispose();
    }
}

/// <summary>How a checkpoint directory is named in answers and logs ("model version").</summary>
public static class ModelVersions
{
    /// <summary>The version recorded in config.json ("ganbertbots_version"), else the folder name and a digest of the weights' size and header.</summary>
    public static string Describe(string directory)
    {
        string config = Path.Combine(directory, "config.json");
        if (File.Exists(config))
        {
            try
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config));
                if (node?["ganbertbots_version"]?.GetValue<string>() is { Length: > 0 } v) return v;
            }
            catch (System.Text.Json.JsonException) { }
        }
        string name = new DirectoryInfo(directory).Name;
        var weights = new[] { "model.safetensors", "model.safetensors.index.json" }.Select(f => Path.Combine(directory, f)).FirstOrDefault(File.Exists);
        if (weights is null) return name;
        using var sha = SHA256.Create();
        using var fs = File.OpenRead(weights);
        var head = new byte[Math.Min(fs.Length, 1 << 20)];
        fs.ReadExactly(head);
        sha.TransformBlock(BitConverter.GetBytes(fs.Length), 0, 8, null, 0);
        sha.TransformFinalBlock(head, 0, head.Length);
        return $"{name}@{Convert.ToHexString(sha.Hash!)[..8].ToLowerInvariant()}";
    }
}
