using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.GanBert;

/// <summary>A text the detector cannot answer for (null, empty or only white space).</summary>
public sealed class DetectionInputException(string message) : UserFacingException(message);

/// <summary>
/// A trained GAN-BERT detector ready to answer: "which model wrote this?" (the configured
/// classes) and "real or fake?" (P(human) against the rest). Texts are batched internally
/// (sorted by length to cut padding); forward passes run under inference mode. One call at a
/// time per instance: calls are serialised by a lock.
/// </summary>
public sealed class GanBertDetector : IDisposable
{
    readonly GanBertNetwork _network;
    readonly object _gate = new();
    readonly int _realIndex;
    readonly bool _ownsNetwork;

    public DetectorConfig Config { get; }
    public BertWordPieceTokenizer Tokenizer { get; }
    public TorchPlacement Placement { get; }
    public string ModelVersion => Config.ModelVersion;
    public IReadOnlyList<string> Classes => Config.Classes;
    /// <summary>Texts per forward pass.</summary>
    public int BatchSize { get; }

    GanBertDetector(GanBertNetwork network, DetectorConfig config, BertWordPieceTokenizer tokenizer, TorchPlacement placement, int batchSize, bool ownsNetwork = true)
    {
        _ownsNetwork = ownsNetwork;
        _network = network;
        Config = config;
        Tokenizer = tokenizer;
        Placement = placement;
        BatchSize = batchSize;
        _realIndex = config.RealClass is null ? -1 : config.Classes.ToList().IndexOf(config.RealClass);
    }

    /// <summary>Loads a trained detector directory (config.json, model.safetensors, vocab.txt).</summary>
    /// <param name="encoderDirectories">Where an adapter detector's base encoder may also be (default: models/).</param>
    public static GanBertDetector Load(string directory, TorchPlacement placement, int batchSize = 32, IReadOnlyList<string>? encoderDirectories = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        var config = DetectorCheckpoint.ReadConfig(directory);
        var tokenizer = new BertWordPieceTokenizer(Path.Combine(directory, DetectorCheckpoint.VocabFile), config.MaxLength, config.LowerCase);
        if (tokenizer.VocabSize != config.Encoder.VocabSize)
            throw new CheckpointException($"{directory}: vocab.txt has {tokenizer.VocabSize} tokens but the encoder's vocab_size is {config.Encoder.VocabSize}");
        var network = DetectorCheckpoint.LoadNetwork(directory, config, placement, encoderDirectories);
        return new GanBertDetector(network, config, tokenizer, placement, batchSize);
    }

    /// <summary>
    /// Wraps a network already in memory (evaluation during training, tests). It is switched to
    /// eval mode on each call; with <paramref name="ownsNetwork"/> false, disposing the detector leaves it alone.
    /// </summary>
    public static GanBertDetector FromNetwork(GanBertNetwork network, DetectorConfig config, BertWordPieceTokenizer tokenizer,
        TorchPlacement placement, int batchSize = 32, bool ownsNetwork = true)
    {
        config.Validate("detector config");
        return new GanBertDetector(network, config, tokenizer, placement, batchSize, ownsNetwork);
    }

    public DetectionResult Detect(string text) => Detect(new[] { text })[0];

    /// <summary>One answer per text, in order.</summary>
    public IReadOnlyList<DetectionResult> Detect(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var encoded = Encode(texts);
        var results = new DetectionResult[texts.Count];
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => encoded[i].Ids.Length).ToArray();
        lock (_gate)
        {
            _network.eval();
            for (int start = 0; start < order.Length; start += BatchSize)
            {
                var chunk = order.Skip(start).Take(BatchSize).ToArray();
                var probs = RealClassProbabilities(chunk.Select(i => encoded[i]).ToList());
                for (int j = 0; j < chunk.Length; j++)
                    results[chunk[j]] = Answer(probs[j], encoded[chunk[j]].Truncated);
            }
        }
        return results;
    }

    /// <summary>
    /// The answer plus an explanation: each token's gradient × input towards "machine"
    /// (d log P(not human) / d word vector, dotted with the word vector), strongest first.
    /// </summary>
    public DetectionResult Explain(string text, int topTokens = 10)
    {
        if (_realIndex < 0) throw new InvalidOperationException($"detector {ModelVersion} has no human class, so nothing counts as 'machine' to explain");
        var encoded = Encode(new[] { text })[0];
        lock (_gate)
        {
            _network.eval();
            using var scope = NewDisposeScope();
            var (ids, mask) = TokenBatch.Create(new[] { encoded }, Tokenizer.PadId, Placement.Device);
            var words = _network.Encoder.Words(ids).detach().requires_grad_(true);          // [1, T, H]
            var pooled = _network.Encoder.Pool(_network.Encoder.Hidden(words, mask), mask);
            var (_, logits) = _network.Discriminator.forward(pooled);
            var logp = logits.narrow(1, 0, Classes.Count).log_softmax(-1);                  // [1, k]
            var machine = (1 - logp.select(1, _realIndex).exp()).clamp_min(1e-12).log().sum();
            var grad = autograd.grad(new[] { machine }, new[] { words })[0];                 // [1, T, H]
            var scores = (grad * words).sum(-1).squeeze(0).to(ScalarType.Float64).cpu().data<double>().ToArray();
            var probs = logp.exp().squeeze(0).to(ScalarType.Float64).cpu().data<double>().ToArray();
            var attributions = Enumerable.Range(1, encoded.Ids.Length - 2) // skip [CLS] and [SEP]
                .Select(i => new TokenAttribution(Tokenizer.Token(encoded.Ids[i]), scores[i]))
                .OrderByDescending(a => a.Score).Take(topTokens).ToList();
            return Answer(probs, encoded.Truncated) with { Explanation = attributions };
        }
    }

    EncodedText[] Encode(IReadOnlyList<string> texts)
    {
        var encoded = new EncodedText[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]))
                throw new DetectionInputException(texts.Count == 1 ? "the text is empty" : $"text {i + 1} of {texts.Count} is empty");
            encoded[i] = Tokenizer.Encode(texts[i]);
        }
        return encoded;
    }

    /// <summary>Softmax over the k real-class logits, one row per text, in float64 on the CPU.</summary>
    double[][] RealClassProbabilities(IReadOnlyList<EncodedText> batch)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var (ids, mask) = TokenBatch.Create(batch, Tokenizer.PadId, Placement.Device);
        var (_, logits) = _network.forward(ids, mask);
        var p = logits.narrow(1, 0, Classes.Count).to(ScalarType.Float32).softmax(-1).to(ScalarType.Float64).cpu();
        var flat = p.data<double>().ToArray();
        int k = Classes.Count;
        return Enumerable.Range(0, batch.Count).Select(b => flat.AsSpan(b * k, k).ToArray()).ToArray();
    }

    DetectionResult Answer(double[] probs, bool truncated)
    {
        int best = 0;
        for (int i = 1; i < probs.Length; i++) if (probs[i] > probs[best]) best = i;
        var byClass = new Dictionary<string, double>(Classes.Count);
        for (int i = 0; i < Classes.Count; i++) byClass[Classes[i]] = probs[i];
        double? real = _realIndex < 0 ? null : probs[_realIndex];
        return new DetectionResult(Classes[best], byClass, real, 1 - real, truncated, ModelVersion);
    }

    public void Dispose() { if (_ownsNetwork) _network.Dispose(); }
}
