using System.Text.Json;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;
using static TorchSharp.torch;

namespace GanBertBots.Testing;

/// <summary>
/// A GPT-2 checkpoint with random weights over a byte-level tokenizer (the 256 byte tokens, one merge " t", and
/// &lt;|endoftext|&gt;), written in Hugging Face layout. It loads and generates like a real checkpoint, so the bot bench
/// and tests can run the whole serving path where no pretrained weights can be had; its text is noise.
/// </summary>
public static class ByteLevelGpt2
{
    public const int VocabSize = 258;

    public static void Create(string directory, int layers = 2, int embedding = 32, int heads = 4, int positions = 128, long seed = 4321)
    {
        manual_seed(seed);
        var config = new Gpt2Config
        {
            VocabSize = VocabSize, MaxPositions = positions, Embedding = embedding, Layers = layers, Heads = heads,
            BosTokenId = VocabSize - 1, EosTokenId = VocabSize - 1,
        };
        using (var model = new Gpt2LMHeadModel(config))
        {
            using (no_grad())
                foreach (var p in model.parameters())
                    p.copy_(randn_like(p) * 0.3); // large enough that tokens differ visibly
            Gpt2Checkpoint.Save(model, directory);
        }
        var vocab = Enumerable.Range(0, 256).ToDictionary(b => ByteLevel.ToToken([(byte)b]), b => b);
        vocab["Ġt"] = 256;
        vocab["<|endoftext|>"] = VocabSize - 1;
        File.WriteAllText(Path.Combine(directory, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(directory, "merges.txt"), "#version: 0.2\nĠ t\n");
    }
}
