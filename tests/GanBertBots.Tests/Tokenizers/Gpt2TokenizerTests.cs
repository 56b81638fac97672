using System.Text;
using System.Text.Json;
using GanBertBots.Models;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Tests.Hub;
using GanBertBots.Tests.Support;

namespace GanBertBots.Tests.Tokenizers;

/// <summary>
/// Known answers from independent GPT-2 implementations: Microsoft's Tokenizer test data (11,378 ids
/// of a Rust source file) and llama.cpp's 46 tricky inputs (whitespace runs, emoji, Khmer, CJK, digits).
/// </summary>
public class Gpt2TokenizerTests
{
    const string OpenAiLayout = "gpt2-tokenizer/encoder.json";
    const string LongKat = "tokenizer-kat/tokens_gpt2.json";
    const string GgmlKat = "tokenizer-kat/ggml-vocab-gpt-2.gguf.out";

    static readonly Lazy<Gpt2Tokenizer> Shared = new(() => Gpt2Tokenizer.Load(SharedData.Require("gpt2-tokenizer")));

    [SharedDataFact(OpenAiLayout, LongKat)]
    public void Encodes_a_long_source_file_to_the_known_11378_ids()
    {
        string text = File.ReadAllText(SharedData.Require("tokenizer-kat/lib.rs.txt"), Encoding.UTF8);
        int[] expected = JsonSerializer.Deserialize<int[]>(File.ReadAllText(SharedData.Require(LongKat)))!;
        Assert.Equal(11_378, expected.Length);

        int[] actual = Shared.Value.Encode(text);

        int firstDifference = Enumerable.Range(0, Math.Min(expected.Length, actual.Length)).FirstOrDefault(i => expected[i] != actual[i], -1);
        Assert.True(firstDifference < 0, $"first difference at token {firstDifference}: expected {(firstDifference >= 0 ? expected[firstDifference] : 0)}, got {(firstDifference >= 0 ? actual[firstDifference] : 0)}");
        Assert.Equal(expected, actual);
        Assert.Equal(text, Shared.Value.Decode(actual));
    }

    public static IEnumerable<object[]> GgmlCases()
    {
        if (SharedData.PathTo(GgmlKat) is null) yield break;
        var (inputs, expected) = ReadGgmlCases();
        for (int i = 0; i < inputs.Length; i++) yield return [i, inputs[i], expected[i]];
    }

    static (string[] Inputs, int[][] Expected) ReadGgmlCases()
    {
        string inp = File.ReadAllText(SharedData.Require("tokenizer-kat/ggml-vocab-gpt-2.gguf.inp"), Encoding.UTF8);
        string[] inputs = inp.Split("\n__ggml_vocab_test__\n");
        Assert.Equal("", inputs[^1]); // the file ends with a separator
        inputs = inputs[..^1];
        string[] lines = File.ReadAllText(SharedData.Require(GgmlKat)).Split('\n');
        Assert.Equal("", lines[^1]);
        lines = lines[..^1];
        Assert.Equal(inputs.Length, lines.Length);
        var expected = lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray()).ToArray();
        return (inputs, expected);
    }

    [SharedDataFact(OpenAiLayout, GgmlKat)]
    public void The_ggml_file_holds_46_cases()
    {
        var (inputs, _) = ReadGgmlCases();
        Assert.Equal(46, inputs.Length);
    }

    [SharedDataTheory(OpenAiLayout, GgmlKat)]
    [MemberData(nameof(GgmlCases))]
    public void Encodes_each_tricky_input_to_its_known_ids(int index, string input, int[] expected)
    {
        int[] actual = Shared.Value.Encode(input);
        Assert.True(expected.SequenceEqual(actual),
            $"case {index} {JsonSerializer.Serialize(input)}: expected [{string.Join(' ', expected)}], got [{string.Join(' ', actual)}]");
        Assert.Equal(input, Shared.Value.Decode(actual));
    }

    [SharedDataFact(OpenAiLayout)]
    public void Reads_the_special_token_and_vocabulary_size_from_the_vocabulary()
    {
        Assert.Equal(50256, Shared.Value.EndOfTextId);
        Assert.Equal(50257, Shared.Value.VocabSize);
        Assert.Equal("<|endoftext|>", Shared.Value.Decode([50256]));
        // Typed by a user, the special token's text stays text.
        Assert.DoesNotContain(50256, Shared.Value.Encode("a<|endoftext|>b"));
        Assert.Equal("a<|endoftext|>b", Shared.Value.Decode(Shared.Value.Encode("a<|endoftext|>b")));
    }

    [SharedDataFact(OpenAiLayout)]
    public void Hugging_face_layout_and_tokenizer_json_give_the_same_ids_as_the_openai_layout()
    {
        using var dir = new ScratchDirectory();
        string src = SharedData.Require("gpt2-tokenizer");
        File.Copy(Path.Combine(src, "encoder.json"), Path.Combine(dir.Path, "vocab.json"));
        File.Copy(Path.Combine(src, "vocab.bpe"), Path.Combine(dir.Path, "merges.txt"));
        var hf = Gpt2Tokenizer.Load(dir.Path);

        // tokenizer.json written the way Hugging Face tokenizers does (merges as ["a", "b"] pairs).
        using var dir2 = new ScratchDirectory();
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(src, "encoder.json")))!;
        var merges = File.ReadAllLines(Path.Combine(src, "vocab.bpe")).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(' ')).ToArray();
        var tokenizerJson = new
        {
            version = "1.0",
            added_tokens = new[] { new { id = 50256, content = "<|endoftext|>", special = true } },
            model = new { type = "BPE", vocab = vocab.Where(kv => kv.Value != 50256).ToDictionary(), merges },
        };
        File.WriteAllText(Path.Combine(dir2.Path, "tokenizer.json"), JsonSerializer.Serialize(tokenizerJson));
        var fromJson = Gpt2Tokenizer.Load(dir2.Path);

        string text = File.ReadAllText(SharedData.Require("tokenizer-kat/lib.rs.txt"), Encoding.UTF8)
                      + "\n  Hello, y'all! 🦙 Cửa Việt\t\t ";
        int[] expected = Shared.Value.Encode(text);
        Assert.Equal(expected, hf.Encode(text));
        Assert.Equal(expected, fromJson.Encode(text));
        Assert.Equal(50256, hf.EndOfTextId);
        Assert.Equal(50256, fromJson.EndOfTextId);
        Assert.Equal(50257, fromJson.VocabSize);
    }

    [SharedDataFact(OpenAiLayout)]
    public void Streaming_decoder_returns_only_complete_characters()
    {
        var tok = Shared.Value;
        string text = "Storm 🌪️ hits 東京; 😶‍🌫️ Cửa Việt!";
        int[] ids = tok.Encode(text);

        // At least one token must end inside a character, or this test proves nothing.
        Assert.Contains(ids, id => !IsCompleteUtf8(tok.TokenBytes(id).ToArray()));

        var decoder = tok.CreateStreamingDecoder();
        var pieces = ids.Select(decoder.Push).ToList();
        pieces.Add(decoder.Flush());
        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.All(pieces, p => Assert.False(p.Length > 0 && char.IsHighSurrogate(p[^1]), "a piece ends in half a surrogate pair"));
        Assert.Equal(text, string.Concat(pieces));
    }

    [SharedDataFact(OpenAiLayout)]
    public void Cut_off_character_decodes_to_replacement_and_flush_reports_it()
    {
        var tok = Shared.Value;
        int[] ids = tok.Encode("🦙");
        Assert.True(ids.Length > 1);
        int[] cut = ids[..^1];
        Assert.Equal("\uFFFD", tok.Decode(cut));

        var decoder = tok.CreateStreamingDecoder();
        Assert.All(cut, id => Assert.Equal("", decoder.Push(id)));
        Assert.Equal("\uFFFD", decoder.Flush());
    }

    [SharedDataFact(OpenAiLayout)]
    public void Out_of_range_ids_are_refused_with_a_clear_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Shared.Value.Decode([15496, 50257]));
        Assert.Contains("50257", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Shared.Value.Decode([-1]));
        Assert.Empty(Shared.Value.Encode(""));
        Assert.Equal("", Shared.Value.Decode([]));
    }

    [Fact]
    public void Missing_files_name_what_is_needed()
    {
        using var dir = new ScratchDirectory();
        var e = Assert.Throws<CheckpointException>(() => Gpt2Tokenizer.Load(dir.Path));
        Assert.Contains("vocab.json", e.Message);
        Assert.Contains("merges.txt", e.Message);

        File.WriteAllText(Path.Combine(dir.Path, "vocab.json"), "{}");
        e = Assert.Throws<CheckpointException>(() => Gpt2Tokenizer.Load(dir.Path));
        Assert.Contains("merges.txt", e.Message);

        e = Assert.Throws<CheckpointException>(() => Gpt2Tokenizer.Load(Path.Combine(dir.Path, "nope")));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Corrupt_files_are_named_in_the_error()
    {
        using var dir = new ScratchDirectory();
        string vocab = Path.Combine(dir.Path, "vocab.json"), merges = Path.Combine(dir.Path, "merges.txt");
        File.WriteAllText(merges, "#version: 0.2\nĠ t\n");

        File.WriteAllText(vocab, "{\"a\": 0, "); // truncated
        var e = Assert.Throws<CheckpointException>(() => Gpt2Tokenizer.Load(dir.Path));
        Assert.Contains("vocab.json", e.Message);
        Assert.Contains("not valid JSON", e.Message);

        File.WriteAllText(vocab, "{\"a\": 0, \"b\": 0, \"<|endoftext|>\": 2}"); // ids 0, 0, 2: nothing has id 1
        e = Assert.Throws<CheckpointException>(() => Gpt2Tokenizer.Load(dir.Path));
        Assert.Contains("no token has id 1", e.Message);

        // Well-formed but incomplete: no byte tokens.
        File.WriteAllText(vocab, "{\"a\": 0, \"<|endoftext|>\": 1}");
        e = Assert.Throws<CheckpointException>(() => Gpt2Tokenizer.Load(dir.Path));
        Assert.Contains("vocab.json", e.Message);
        Assert.Contains("byte token", e.Message);
    }

    [Fact]
    public void A_tiny_hand_made_vocabulary_merges_in_order_and_rejects_bad_merges()
    {
        using var dir = new ScratchDirectory();
        // The 256 byte tokens, then merges "Ġ t" → "Ġt" (256), "h e" → "he" (257), "Ġt he" → "Ġthe" (258).
        var vocab = Enumerable.Range(0, 256).ToDictionary(b => ByteLevel.ToToken([(byte)b]), b => b);
        vocab["Ġt"] = 256; vocab["he"] = 257; vocab["Ġthe"] = 258; vocab["<|endoftext|>"] = 259;
        File.WriteAllText(Path.Combine(dir.Path, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(dir.Path, "merges.txt"), "#version: 0.2\nĠ t\nh e\nĠt he\n");
        var tok = Gpt2Tokenizer.Load(dir.Path);
        Assert.Equal(259, tok.EndOfTextId);
        Assert.Equal(260, tok.VocabSize);
        Assert.Equal(new[] { 't', 257, 258 }, tok.Encode("the the"));
        Assert.Equal(new[] { 256, (int)'h', 258 }, tok.Encode(" th the"));

        // A merge that makes a lower id than the one before it cannot be reproduced by rank-based BPE.
        File.WriteAllText(Path.Combine(dir.Path, "merges.txt"), "#version: 0.2\nh e\nĠ t\nĠt he\n");
        var e = Assert.Throws<CheckpointException>(() => Gpt2Tokenizer.Load(dir.Path));
        Assert.Contains("merges.txt", e.Message);
        Assert.Contains("merge #2", e.Message);
    }

    static bool IsCompleteUtf8(byte[] bytes)
    {
        try { new UTF8Encoding(false, true).GetString(bytes); return true; }
        catch (DecoderFallbackException) { return false; }
    }
}
