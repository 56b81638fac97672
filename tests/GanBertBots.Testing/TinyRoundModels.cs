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
}
