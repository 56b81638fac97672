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

    /// <summary>An untrained one-layer BERT detector with classes human and gpt2, its vocabulary the words of <paramref name="texts"/>.</summary>
    public static string Detector(string dir, IEnumerable<string> texts)
    {
        Directory.CreateDirectory(dir);
        string vocab = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dir))!, Path.GetFileName(dir) + "-vocab.txt");
        var words = texts.SelectMany(t => Regex.Split(t.ToLowerInvariant(), @"[^a-z0-9]+")).Where(w => w.Length > 0).Distinct().Order(StringComparer.Ordinal);
        File.WriteAllLines(vocab, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "#", "!" }.Concat(words));
        var tokenizer = new BertWordPieceTokenizer(vocab, maxLength: 32);
        using var network = new GanBertNetwork(new BertEncoder(SyntheticDetector.TinyEncoder(tokenizer.VocabSize)), 2, 0.1);
        var config = new DetectorConfig
        {
            Backbone = "small", Encoder = network.Encoder.Config, Classes = ["human", "gpt2"], MaxLength = 32, ModelVersion = "tiny-1",
        };
        DetectorCheckpoint.Save(dir, config, network, vocab);
        return dir;
    }

    /// <summary>
    /// A deliberately useless detector: the <see cref="Detector"/> network with its classifier's weights zeroed and its bias
    /// set so that it answers <paramref name="always"/> (human or gpt2) for every text, with <paramref name="confidence"/>.
    /// </summary>
    public static string UselessDetector(string dir, IEnumerable<string> texts, string always, double confidence = 0.9)
    {
        Detector(dir, texts);
        var config = DetectorCheckpoint.ReadConfig(dir);
        using var network = DetectorCheckpoint.LoadNetwork(dir, config, GanBertBots.Models.Runtime.TorchPlacement.Cpu);
        int index = config.Classes.ToList().IndexOf(always);
        if (index < 0) throw new ArgumentException($"{always} is not a class of the tiny detector");
        // softmax over the two real classes gives `confidence` to `always`; the fake logit is far below both.
        double gap = Math.Log(confidence / (1 - confidence));
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
