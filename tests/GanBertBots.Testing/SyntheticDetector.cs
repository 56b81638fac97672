using GanBertBots.Models.Bert;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Training.Detector;
using TorchSharp;

namespace GanBertBots.Testing;

/// <summary>A tiny vocabulary and a task a model must learn: "human" texts use one set of words, "gpt2" texts another, both mixed with shared filler.</summary>
public static class SyntheticDetector
{
    public static readonly string[] HumanWords = ["apple", "river", "stone", "cloud", "green", "horse", "quiet", "bread"];
    public static readonly string[] MachineWords = ["vector", "neural", "token", "matrix", "robot", "signal", "binary", "circuit"];
    public static readonly string[] Filler = ["the", "a", "and", "of", "is", "very", "then"];

    public static string WriteVocab(string dir)
    {
        string path = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(path, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "," }
            .Concat(HumanWords).Concat(MachineWords).Concat(Filler));
        return path;
    }

    public static BertConfig TinyEncoder(int vocabSize) => BertConfig.Small(vocabSize, 64) with
    {
        HiddenSize = 16, Layers = 1, Heads = 2, IntermediateSize = 32,
    };

    public static List<LabelledText> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<LabelledText>();
        for (int i = 0; i < count; i++)
        {
            bool human = i % 2 == 0;
            var words = human ? HumanWords : MachineWords;
            int n = rng.Next(3, 12);
            var text = string.Join(" ", Enumerable.Range(0, n).Select(_ => rng.Next(4) != 0 ? words[rng.Next(words.Length)] : Filler[rng.Next(Filler.Length)]))
                       + " " + words[rng.Next(words.Length)] + ".";
            rows.Add(new LabelledText(text, human ? "human" : "gpt2"));
        }
        return rows;
    }

    /// <summary>An untrained network over the tiny vocabulary, wrapped as a detector.</summary>
    public static (GanBertNetwork Network, DetectorConfig Config, BertWordPieceTokenizer Tokenizer) Untrained(string vocab, int seed, double dropout = 0.1)
    {
        torch.manual_seed(seed);
        var tokenizer = new BertWordPieceTokenizer(vocab, maxLength: 32);
        var encoder = new BertEncoder(TinyEncoder(tokenizer.VocabSize) with { Dropout = dropout, AttentionDropout = dropout });
        var network = new GanBertNetwork(encoder, 3, dropout);
        var config = new DetectorConfig
        {
            Backbone = "small", Encoder = encoder.Config, Classes = ["human", "gpt2", "dolly"], MaxLength = 32, ModelVersion = "test-1",
        };
        return (network, config, tokenizer);
    }
}
