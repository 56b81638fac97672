using System.Text.Json;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Tests.Gpt2;

namespace GanBertBots.Tests.Bots;

/// <summary>
/// A real GPT-2 checkpoint small enough for tests: random weights (TinyGpt2) over a byte-level tokenizer of the 256
/// byte tokens, one merge and &lt;|endoftext|&gt;, written as a Hugging Face folder the service loads like any other.
/// </summary>
public static class TinyTweetModel
{
    public static string CreateCheckpoint(long seed = 4321)
    {
        using var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 258, layers: 2, embd: 32, heads: 4, positions: 128), seed);
        string dir = TinyGpt2.SaveToTemp(model);
        var vocab = Enumerable.Range(0, 256).ToDictionary(b => ByteLevel.ToToken([(byte)b]), b => b);
        vocab["Ġt"] = 256;                // one merge, " t"
        vocab["<|endoftext|>"] = 257;     // the config's end-of-text id (vocab - 1)
        File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nĠ t\n");
        return dir;
    }
}
