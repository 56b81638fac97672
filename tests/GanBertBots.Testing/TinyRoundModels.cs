using System.Text.RegularExpressions;
using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Training.Generator;

namespace GanBertBots.Testing;

/// <summary>Real checkpoints small enough for a whole adversarial round in seconds: a byte-level GPT-2 and a two-class detector.</summary>
public static class TinyRoundModels
{
    /// <summary>A random 2-layer GPT-2 over the 259-token byte tokenizer (files written next to it).</summary>
    public static string Generator(string dir, long seed)
    {
        ByteTokenizer.Write(dir);
        using var model = new Gpt2LMHeadModel(GeneratorTrainingOptions.ScratchConfig("tiny", 259, 258, positions: 128));
        TinyGpt2.Randomise(model, seed, scale: 0.02);
        Gpt2Checkpoint.Save(model, dir);
        return dir;
    }

    /// <summary>
    /// An untrained one-layer BERT detector with classes human and gpt2 (or <paramref name="classes"/>), its vocabulary the
    /// words of <paramref name="texts"/>.
    /// </summary>
    public static string Detector(string dir, IEnumerable<string> texts, IReadOnlyList<string>? classes = null)
    {
        classes ??= ["human", "gpt2"];
        Directory.CreateDirectory(dir);
        string vocab = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dir))!, Path.GetFileName(dir) + "-vocab.txt");
        var words = texts.SelectMany(t => Regex.Split(t.ToLowerInvariant(), @"[^a-z0-9]+")).Where(w => w.Length > 0).Distinct().Order(StringComparer.Ordinal);
        File.WriteAllLines(vocab, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "#", "!" }.Concat(words));
        var tokenizer = new BertWordPieceTokenizer(vocab, maxLength: 32);
        using var network = new GanBertNetwork(new BertEncoder(SyntheticDetector.TinyEncoder(tokenizer.VocabSize)), classes.Count, 0.1);
        var config = new DetectorConfig
        {
            Backbone = "small", Encoder = network.Encoder.Config, Classes = [.. classes], MaxLength = 32, ModelVersion = "tiny-1",
        };
        DetectorCheckpoint.Save(dir, config, network, vocab);
        return dir;
    }

    /// <summary>
    /// A deliberately useless detector: the <see cref="Detector"/> network with its classifier's weights zeroed and its bias
    /// set so that it answers <paramref name="always"/> (one of its classes) for every text, with <paramref name="confidence"/>
    /// and the rest shared evenly by the other classes.
    /// </summary>
    public static string UselessDetector(string dir, IEnumerable<string> texts, string always, double confidence = 0.9, IReadOnlyList<string>? classes = null)
    {
        Detector(dir, texts, classes);
        var config = DetectorCheckpoint.ReadConfig(dir);
        using var network = DetectorCheckpoint.LoadNetwork(dir, config, GanBertBots.Models.Runtime.TorchPlacement.Cpu);
        int index = config.Classes.ToList().IndexOf(always);
        if (index < 0) throw new ArgumentException($"{always} is not a class of the tiny detector");
        // softmax over the K real classes gives `confidence` to `always` (e^gap / (e^gap + K − 1)) and (1 − confidence) / (K − 1)
        // to each of the others; the fake logit is far below them all.
        double gap = Math.Log(confidence * (config.Classes.Count - 1) / (1 - confidence));
        var bias = new float[config.Classes.Count + 1];
        bias[index] = (float)gap;
        bias[^1] = -20;
        using (TorchSharp.torch.no_grad())
            foreach (var (name, parameter) in network.Discriminator.named_parameters())
            {
                if (name == "classifier.weight") parameter.zero_();
                if (name == "classifier.bias") parameter.copy_(TorchSharp.torch.tensor(bias));
            }
        DetectorCheckpoint.Save(dir, config, network, Path.Combine(dir, DetectorCheckpoint.VocabFile));
        return dir;
    }
}
