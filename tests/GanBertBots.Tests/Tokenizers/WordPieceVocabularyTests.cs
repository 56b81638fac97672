using GanBertBots.Models.Tokenizers;

namespace GanBertBots.Tests.Tokenizers;

public sealed class WordPieceVocabularyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("vocab-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly string[] Texts =
    [
        "Forest fire near La Ronge Sask. Canada",
        "All residents asked to 'shelter in place' are being notified by officers.",
        "13,000 people receive #wildfires evacuation orders in California",
        "Just got sent this photo from Ruby #Alaska as smoke from #wildfires pours into a school",
        "The fire fighters fought the fire all night; fires burned on. Café closed.",
    ];

    [Fact]
    public void Small_vocabulary_lists_specials_then_characters_then_words_by_frequency()
    {
        // Hand-counted on a tiny corpus: "a" x3, "b" x2 (characters); words "ab" x2, "ba" x1.
        var vocab = WordPieceVocabulary.Build(["ab ab ba"], maxSize: 100);
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "b", "##b", "ab", "ba"], vocab);
    }

    [Fact]
    public void Every_training_text_tokenizes_without_unknown_pieces_and_frequent_words_are_one_token()
    {
        var vocab = WordPieceVocabulary.Build(Texts, maxSize: 200);
        Assert.True(vocab.Count <= 200);
        string path = Path.Combine(_dir, "vocab.txt");
        WordPieceVocabulary.Write(path, vocab);
        var tokenizer = new BertWordPieceTokenizer(path, maxLength: 128);
        int unk = vocab.ToList().IndexOf("[UNK]");
        foreach (string text in Texts)
            Assert.DoesNotContain(unk, tokenizer.EncodeWordPieces(text));
        // "fire" appears 3 times (and "fires", "wildfires"): a whole-word token, so one id.
        Assert.Equal([vocab.ToList().IndexOf("fire")], tokenizer.EncodeWordPieces("fire"));
        // Accents stripped and lower-cased as BERT's uncased basic tokenization does: "Café" is "cafe".
        Assert.Contains("cafe", vocab);
        Assert.DoesNotContain("Café", vocab);
    }

    [Fact]
    public void A_tight_budget_still_spells_every_word_from_characters()
    {
        var vocab = WordPieceVocabulary.Build(Texts, maxSize: 90);
        Assert.Equal(90, vocab.Count);
        string path = Path.Combine(_dir, "tight.txt");
        WordPieceVocabulary.Write(path, vocab);
        var tokenizer = new BertWordPieceTokenizer(path, maxLength: 128);
        int unk = vocab.ToList().IndexOf("[UNK]");
        foreach (string text in Texts) Assert.DoesNotContain(unk, tokenizer.EncodeWordPieces(text));
        Assert.Equal(vocab, WordPieceVocabulary.Build(Texts, maxSize: 90)); // deterministic
    }
}
