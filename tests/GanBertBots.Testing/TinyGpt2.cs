using GanBertBots.Models.Gpt2;
using static TorchSharp.torch;

namespace GanBertBots.Testing;

/// <summary>Small random GPT-2 models built by the tests themselves.</summary>
public static class TinyGpt2
{
    public static Gpt2Config Config(int vocab = 64, int layers = 2, int embd = 16, int heads = 4, int positions = 64) => new()
    {
        VocabSize = vocab, MaxPositions = positions, Embedding = embd, Layers = layers, Heads = heads,
        BosTokenId = vocab - 1, EosTokenId = vocab - 1,
    };

    /// <summary>A model with seeded random weights, scaled up so logits differ visibly between tokens.</summary>
    public static Gpt2LMHeadModel Create(Gpt2Config? config = null, long seed = 1234)
    {
        var model = new Gpt2LMHeadModel(config ?? Config());
        Randomise(model, seed, 0.3);
        model.eval();
        return model;
    }

    /// <summary>
    /// Overwrites every parameter with N(0, scale) noise from a generator of its own: tests run in
    /// parallel, and torch's global generator is shared between threads, so manual_seed alone does not
    /// make two models equal.
    /// </summary>
    public static void Randomise(Gpt2LMHeadModel model, long seed, double scale)
    {
        using var generator = new Generator((ulong)seed);
        using (no_grad())
            foreach (var p in model.parameters())
                p.copy_(randn(p.shape, generator: generator) * scale);
    }

    /// <summary>Writes a model as a Hugging Face checkpoint into a fresh temp directory.</summary>
    public static string SaveToTemp(Gpt2LMHeadModel model)
    {
        string dir = Directory.CreateTempSubdirectory("gpt2ckpt").FullName;
        Gpt2Checkpoint.Save(model, dir);
        return dir;
    }
}

/// <summary>A byte-level GPT-2 tokenizer: 256 byte tokens, two merges ("Ġt" = 256, "he" = 257) and &lt;|endoftext|&gt; = 258.</summary>
public static class ByteTokenizer
{
    public static string Write(string dir)
    {
        Directory.CreateDirectory(dir);
        var vocab = Enumerable.Range(0, 256).ToDictionary(b => GanBertBots.Models.Tokenizers.ByteLevel.ToToken(new[] { (byte)b }), b => b);
        vocab["Ġt"] = 256; vocab["he"] = 257; vocab["<|endoftext|>"] = 258;
        File.WriteAllText(Path.Combine(dir, "vocab.json"), System.Text.Json.JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nĠ t\nh e\n");
        return dir;
    }
}
