using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace GanBertBots.Models.Tokenizers;

/// <summary>One text made ready for the encoder: ids with [CLS] ... [SEP], and whether the text was cut.</summary>
public sealed record EncodedText(int[] Ids, bool Truncated);

/// <summary>
/// BERT's WordPiece tokenizer from a <c>vocab.txt</c>. BERT's basic tokenization is done here,
/// character class by character class as in the original (google-research/bert
/// tokenization.py): drop control characters, NUL and U+FFFD; white space to spaces; spaces
/// around CJK ideographs; lower-case and strip accents (NFD, drop non-spacing marks) for uncased
/// vocabularies; split off punctuation (ASCII symbols and Unicode P*). Each resulting word then
/// goes through Microsoft.ML.Tokenizers' <see cref="WordPieceTokenizer"/> (greedy longest match
/// with "##"; a word it cannot cover, or longer than 100 characters, is one [UNK]).
/// (ML.Tokenizers' own BertTokenizer drops symbols such as '=', '`', '½' and emoji instead of
/// keeping them, so it fails the known-answer tests; we use only its WordPiece stage.)
/// Texts longer than <see cref="MaxLength"/> tokens (counting [CLS] and [SEP]) are truncated.
/// </summary>
public sealed class BertWordPieceTokenizer
{
    /// <summary>Characters kept from a text before tokenising: far more than <see cref="MaxLength"/> tokens can use, so huge inputs cost nothing extra.</summary>
    public int MaxChars => MaxLength * 40;

    readonly WordPieceTokenizer _wordPiece;
    readonly string[] _vocab;

    public string VocabPath { get; }
    public int MaxLength { get; }
    public bool LowerCase { get; }
    public int VocabSize { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int PadId { get; }

    public BertWordPieceTokenizer(string vocabPath, int maxLength = 256, bool lowerCase = true)
    {
        if (maxLength < 3) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "max length must leave room for [CLS], [SEP] and one token");
        if (!File.Exists(vocabPath)) throw new CheckpointException($"{vocabPath}: vocabulary file not found (a BERT tokenizer needs vocab.txt)");
        var lines = File.ReadAllLines(vocabPath);
        int Id(string special) => Array.IndexOf(lines, special) is var i and >= 0 ? i
            : throw new CheckpointException($"{vocabPath}: not a BERT WordPiece vocabulary (token '{special}' is missing)");
        ClsId = Id("[CLS]");
        SepId = Id("[SEP]");
        PadId = Id("[PAD]");
        Id("[UNK]");
        VocabPath = vocabPath;
        MaxLength = maxLength;
        LowerCase = lowerCase;
        VocabSize = lines.Length;
        _vocab = lines;
        _wordPiece = WordPieceTokenizer.Create(vocabPath, new WordPieceOptions { UnknownToken = "[UNK]", ContinuingSubwordPrefix = "##", MaxInputCharsPerWord = 100 });
    }

    /// <summary>WordPiece ids without [CLS]/[SEP] and without truncation (what the known-answer tests compare).</summary>
    public IReadOnlyList<int> EncodeWordPieces(string text)
    {
        var ids = new List<int>();
        foreach (var word in BasicTokens(text, LowerCase))
            ids.AddRange(_wordPiece.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
        return ids;
    }

    /// <summary>BERT's basic tokenization: the words (and punctuation marks) WordPiece then splits.</summary>
    public static IEnumerable<string> BasicTokens(string text, bool lowerCase)
    {
        var cleaned = new StringBuilder(text.Length);
        foreach (var r in text.EnumerateRunes())
        {
            if (r.Value == 0 || r.Value == 0xFFFD || IsControl(r)) continue;
            if (IsWhiteSpace(r)) cleaned.Append(' ');
            else if (IsCjk(r.Value)) cleaned.Append(' ').Append(r.ToString()).Append(' ');
            else cleaned.Append(r.ToString());
        }
        foreach (var raw in cleaned.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string word = raw;
            if (lowerCase) word = StripAccents(word.ToLowerInvariant());
            var current = new StringBuilder();
            foreach (var r in word.EnumerateRunes())
            {
                if (IsPunctuation(r))
                {
                    if (current.Length > 0) { yield return current.ToString(); current.Clear(); }
                    yield return r.ToString();
                }
                else current.Append(r.ToString());
            }
            if (current.Length > 0) yield return current.ToString();
        }
    }

    static string StripAccents(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var r in s.Normalize(NormalizationForm.FormD).EnumerateRunes())
            if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark) sb.Append(r.ToString());
        return sb.ToString();
    }

    static bool IsWhiteSpace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    static bool IsPunctuation(Rune r)
    {
        int c = r.Value;
        if (c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The CJK Unified Ideographs blocks BERT puts spaces around (not Hangul, Hiragana or Katakana).</summary>
    static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    /// <summary>[CLS] + word pieces + [SEP], cut to <see cref="MaxLength"/> tokens.</summary>
    public EncodedText Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool cut = false;
        if (text.Length > MaxChars) { text = text[..MaxChars]; cut = true; }
        var pieces = EncodeWordPieces(text);
        int keep = Math.Min(pieces.Count, MaxLength - 2);
        var ids = new int[keep + 2];
        ids[0] = ClsId;
        for (int i = 0; i < keep; i++) ids[i + 1] = pieces[i];
        ids[^1] = SepId;
        return new EncodedText(ids, cut || keep < pieces.Count);
    }

    /// <summary>The token string of an id (for explanations), "##" continuation marks kept.</summary>
    public string Token(int id) => id >= 0 && id < _vocab.Length ? _vocab[id] : "[UNK]";
}
