using GanBertBots.Models.Tokenizers;
using GanBertBots.Tests.Support;

namespace GanBertBots.Tests.Detector;

public class TokenizerTests
{
    const string Vocab = "bert-base-uncased/vocab.txt";
    const string KatInput = "tokenizer-kat/ggml-vocab-bert-bge.gguf.inp";
    const string KatOutput = "tokenizer-kat/ggml-vocab-bert-bge.gguf.out";

    [SharedDataFact(Vocab, KatInput, KatOutput)]
    public void WordPiece_reproduces_the_46_known_answers()
    {
        var tokenizer = new BertWordPieceTokenizer(SharedData.Require(Vocab));
        var inputs = File.ReadAllText(SharedData.Require(KatInput)).Split("\n__ggml_vocab_test__\n");
        Assert.Equal(47, inputs.Length);
        Assert.Equal("", inputs[^1]);
        var expected = File.ReadAllLines(SharedData.Require(KatOutput));
        Assert.Equal(46, expected.Length);
        var failures = new List<string>();
        for (int i = 0; i < 46; i++)
        {
            var want = expected[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            var got = tokenizer.EncodeWordPieces(inputs[i]).ToArray();
            if (!want.SequenceEqual(got))
                failures.Add($"case {i} {System.Text.Json.JsonSerializer.Serialize(inputs[i])}: expected [{string.Join(" ", want)}] got [{string.Join(" ", got)}]");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [SharedDataFact(Vocab)]
    public void Long_text_is_truncated_and_says_so()
    {
        var tokenizer = new BertWordPieceTokenizer(SharedData.Require(Vocab), maxLength: 8);
        var shortText = tokenizer.Encode("hello world");
        Assert.False(shortText.Truncated);
        Assert.Equal([101, 7592, 2088, 102], shortText.Ids); // [CLS] hello world [SEP]
        var longText = tokenizer.Encode("one two three four five six seven eight nine ten");
        Assert.True(longText.Truncated);
        Assert.Equal(8, longText.Ids.Length);
        Assert.Equal(101, longText.Ids[0]);
        Assert.Equal(102, longText.Ids[^1]);
        var exact = tokenizer.Encode("one two three four five six"); // 6 pieces + 2 specials = 8: fits
        Assert.False(exact.Truncated);
        Assert.Equal(8, exact.Ids.Length);
    }

    [Fact]
    public void Missing_or_foreign_vocabulary_is_a_clear_error()
    {
        Assert.Throws<GanBertBots.Models.CheckpointException>(() => new BertWordPieceTokenizer("/nonexistent/vocab.txt"));
        string f = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(f, ["a", "b"]);
            var e = Assert.Throws<GanBertBots.Models.CheckpointException>(() => new BertWordPieceTokenizer(f));
            Assert.Contains("[CLS]", e.Message);
        }
        finally { File.Delete(f); }
    }
}
