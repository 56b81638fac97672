using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace GanBertBots.Models.Tokenizers;

/// <summary>
/// GPT-2's byte-level BPE tokenizer, loaded from a checkpoint directory.
/// <para>
/// GPT-2 assigned its ids in merge order (the 256 byte tokens first, then merge <c>i</c> makes token
/// <c>256 + i</c>), so its vocabulary doubles as a tiktoken rank table. Encoding runs on
/// Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/> over those ranks with GPT-2's own
/// pre-tokenizer regex; this reproduces the reference ids exactly, whitespace runs included.
/// Decoding maps ids back to raw bytes and UTF-8 decodes them (invalid sequences become U+FFFD).
/// </para>
/// <para>
/// <see cref="Encode"/> treats its text literally: a user typing <c>&lt;|endoftext|&gt;</c> gets the
/// ids of those characters, never the special token. Add <see cref="EndOfTextId"/> yourself where
/// a document boundary is meant.
/// </para>
/// Thread-safe; use one instance for the whole process.
/// </summary>
public sealed class Gpt2Tokenizer
{
    /// <summary>GPT-2's pre-tokenizer: contractions, letter runs, digit runs, other symbols, whitespace.</summary>
    public const string PreTokenizerPattern =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public const string EndOfTextToken = "<|endoftext|>";

    readonly TiktokenTokenizer _bpe;
    readonly byte[][] _bytesById;

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (50256 for GPT-2), read from the vocabulary.</summary>
    public int EndOfTextId { get; }

    /// <summary>Number of ids (50257 for GPT-2): every id in [0, VocabSize) decodes.</summary>
    public int VocabSize => _bytesById.Length;

    /// <summary>Where the tokenizer was loaded from (for messages).</summary>
    public string Source { get; }

    Gpt2Tokenizer(TiktokenTokenizer bpe, byte[][] bytesById, int endOfTextId, string source)
    {
        _bpe = bpe;
        _bytesById = bytesById;
        EndOfTextId = endOfTextId;
        Source = source;
    }

    /// <summary>The (vocabulary, merges) file pairs <see cref="Load"/> reads, in the order it tries them; else tokenizer.json.</summary>
    static readonly (string Vocab, string Merges)[] FilePairLayouts = [("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")];

    /// <summary>
    /// Whether <see cref="Load"/> finds a tokenizer layout in <paramref name="directory"/> (by file names only): any
    /// complete pair, or tokenizer.json. A half pair is missing its other half; nothing at all is missing the Hugging
    /// Face pair.
    /// </summary>
    public static Loadability Check(string directory)
    {
        bool Has(string f) => File.Exists(Path.Combine(directory, f));
        foreach (var (vocab, merges) in FilePairLayouts)
        {
            if (Has(vocab) && Has(merges)) return Loadability.Loadable;
            if (Has(vocab) != Has(merges)) return new([Has(vocab) ? merges : vocab]);
        }
        return Has("tokenizer.json") ? Loadability.Loadable : new([FilePairLayouts[0].Vocab, FilePairLayouts[0].Merges]);
    }

    /// <summary>
    /// Loads from a checkpoint directory in any of these layouts (first found wins):
    /// <c>vocab.json</c> + <c>merges.txt</c> (Hugging Face), <c>encoder.json</c> + <c>vocab.bpe</c>
    /// (OpenAI release), or <c>tokenizer.json</c> (Hugging Face tokenizers, BPE model).
    /// </summary>
    /// <exception cref="CheckpointException">No layout is complete, or a file is corrupt; the message names the file.</exception>
    public static Gpt2Tokenizer Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new CheckpointException($"{directory}: tokenizer directory not found");
        foreach (var (vocab, merges) in FilePairLayouts)
        {
            string v = Path.Combine(directory, vocab), m = Path.Combine(directory, merges);
            if (File.Exists(v) && File.Exists(m)) return FromFiles(v, m);
            if (File.Exists(v) != File.Exists(m))
                throw new CheckpointException(
                    $"{directory}: has {(File.Exists(v) ? vocab : merges)} but not {(File.Exists(v) ? merges : vocab)}; a GPT-2 tokenizer needs both");
        }
        string tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson)) return FromTokenizerJson(tokenizerJson);
        throw new CheckpointException(
            $"{directory}: no GPT-2 tokenizer files. Put vocab.json and merges.txt (or encoder.json and vocab.bpe, or tokenizer.json) there");
    }

    /// <summary>Loads from a vocabulary (token string → id, JSON) and a merges file (one "a b" pair a line).</summary>
    public static Gpt2Tokenizer FromFiles(string vocabPath, string mergesPath)
    {
        var vocab = ReadVocab(vocabPath);
        var merges = ReadMerges(mergesPath);
        return Create(vocab, merges, vocabPath, mergesPath);
    }

    /// <summary>Loads the <c>model</c> (type BPE) and <c>added_tokens</c> of a Hugging Face <c>tokenizer.json</c>.</summary>
    public static Gpt2Tokenizer FromTokenizerJson(string path)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(ReadFile(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: not valid JSON ({e.Message})", e); }

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{path}: no \"model\" object");
        if (model.TryGetProperty("type", out var type) && type.GetString() is { } t && t != "BPE")
            throw new CheckpointException($"{path}: model type is \"{t}\", not the byte-level BPE of GPT-2");
        if (!model.TryGetProperty("vocab", out var vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{path}: model has no \"vocab\" object");
        if (!model.TryGetProperty("merges", out var mergesElement) || mergesElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointException($"{path}: model has no \"merges\" array");

        var vocab = ParseVocab(vocabElement, path);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            foreach (var token in added.EnumerateArray())
                if (token.TryGetProperty("content", out var c) && token.TryGetProperty("id", out var id)
                    && c.GetString() is { } content && id.TryGetInt32(out int i))
                    vocab.TryAdd(content, i);

        var merges = new List<(string, string)>();
        foreach (var m in mergesElement.EnumerateArray())
        {
            // Older files write "a b", newer ones ["a", "b"].
            if (m.ValueKind == JsonValueKind.String) merges.Add(SplitMerge(m.GetString()!, path, merges.Count + 1));
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                merges.Add((m[0].GetString() ?? "", m[1].GetString() ?? ""));
            else throw new CheckpointException($"{path}: merge #{merges.Count + 1} is neither \"a b\" nor [\"a\", \"b\"]");
        }
        return Create(vocab, merges, path, path);
    }

    /// <summary>The ids of <paramref name="text"/>, taken literally (no special tokens).</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return [];
        return _bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false).ToArray();
    }

    /// <summary>Text of <paramref name="ids"/>; bytes that are not valid UTF-8 (e.g. a cut-off character) become U+FFFD.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="VocabSize"/>).</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (int id in ids) bytes.AddRange(TokenBytes(id));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The raw bytes one id stands for (a token may hold only part of a UTF-8 character).</summary>
    public ReadOnlySpan<byte> TokenBytes(int id)
    {
        if ((uint)id >= (uint)_bytesById.Length)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the vocabulary [0, {_bytesById.Length}) of {Source}");
        return _bytesById[id];
    }

    /// <summary>A decoder for a stream of ids that returns text as soon as characters are complete.</summary>
    public Gpt2StreamingDecoder CreateStreamingDecoder() => new(this);

    // ---- construction -------------------------------------------------------------------------

    static Gpt2Tokenizer Create(Dictionary<string, int> vocab, List<(string A, string B)> merges, string vocabSource, string mergesSource)
    {
        if (!vocab.TryGetValue(EndOfTextToken, out int endOfText))
            throw new CheckpointException($"{vocabSource}: no {EndOfTextToken} token in the vocabulary");

        int size = vocab.Values.Max() + 1;
        if (size != vocab.Count)
            throw new CheckpointException($"{vocabSource}: ids are not contiguous ({vocab.Count} tokens, highest id {size - 1})");

        var bytesById = new byte[size][];
        foreach (var (token, id) in vocab)
        {
            if (id < 0) throw new CheckpointException($"{vocabSource}: token {Quote(token)} has negative id {id}");
            if (token == EndOfTextToken) { bytesById[id] = Encoding.UTF8.GetBytes(token); continue; }
            bytesById[id] = ByteLevel.ToBytes(token)
                ?? throw new CheckpointException($"{vocabSource}: token {Quote(token)} (id {id}) is not in GPT-2's byte-level alphabet");
        }

        int unused = Array.IndexOf(bytesById, null);
        if (unused >= 0) throw new CheckpointException($"{vocabSource}: no token has id {unused} (two tokens share an id)");

        CheckIdsFollowMerges(vocab, merges, vocabSource, mergesSource);

        // The rank table TiktokenTokenizer reads: "base64(bytes) rank" per line, every token but the special one.
        var ranks = new StringBuilder(vocab.Count * 16);
        for (int id = 0; id < size; id++)
            if (id != endOfText)
                ranks.Append(Convert.ToBase64String(bytesById[id])).Append(' ').Append(id).Append('\n');
        using var rankStream = new MemoryStream(Encoding.ASCII.GetBytes(ranks.ToString()));
        var preTokenizer = new RegexPreTokenizer(new Regex(PreTokenizerPattern, RegexOptions.Compiled), specialTokens: null);
        var bpe = TiktokenTokenizer.Create(rankStream, preTokenizer, normalizer: null, specialTokens: null);
        return new Gpt2Tokenizer(bpe, bytesById, endOfText, vocabSource == mergesSource ? vocabSource : Path.GetDirectoryName(vocabSource) ?? vocabSource);
    }

    /// <summary>
    /// Tiktoken merges by rank, BPE by merge order: they agree when every single byte is a token and
    /// merge <c>i</c> produces a token whose id grows with <c>i</c>. GPT-2 (and its fine-tunes) are built
    /// that way; anything else is refused rather than tokenized wrongly.
    /// </summary>
    static void CheckIdsFollowMerges(Dictionary<string, int> vocab, List<(string A, string B)> merges, string vocabSource, string mergesSource)
    {
        int maxByteId = -1;
        for (int b = 0; b < 256; b++)
        {
            string token = ByteLevel.ToToken([(byte)b]);
            if (!vocab.TryGetValue(token, out int id))
                throw new CheckpointException($"{vocabSource}: the byte token {Quote(token)} (byte {b}) is missing");
            maxByteId = Math.Max(maxByteId, id);
        }
        if (merges.Count == 0) throw new CheckpointException($"{mergesSource}: no merges");
        int previous = maxByteId;
        for (int i = 0; i < merges.Count; i++)
        {
            var (a, b) = merges[i];
            if (!vocab.ContainsKey(a) || !vocab.ContainsKey(b) || !vocab.TryGetValue(a + b, out int merged))
                throw new CheckpointException($"{mergesSource}: merge #{i + 1} ({Quote(a)} {Quote(b)}) uses or makes a token that is not in {Path.GetFileName(vocabSource)}");
            if (merged <= previous)
                throw new CheckpointException(
                    $"{mergesSource}: merge #{i + 1} makes id {merged}, not above the previous merge's {previous}; this tokenizer does not number tokens in merge order as GPT-2 does");
            previous = merged;
        }
    }

    static Dictionary<string, int> ReadVocab(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(ReadFile(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{path}: expected a JSON object of token → id");
            return ParseVocab(doc.RootElement, path);
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: not valid JSON ({e.Message})", e); }
    }

    static Dictionary<string, int> ParseVocab(JsonElement obj, string path)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id))
                throw new CheckpointException($"{path}: token {Quote(p.Name)} has a non-integer id");
            vocab[p.Name] = id;
        }
        if (vocab.Count == 0) throw new CheckpointException($"{path}: empty vocabulary");
        return vocab;
    }

    static List<(string, string)> ReadMerges(string path)
    {
        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string line in ReadFile(path).Split('\n'))
        {
            lineNumber++;
            string l = line.TrimEnd('\r');
            if (l.Length == 0 || (lineNumber == 1 && l.StartsWith("#version", StringComparison.Ordinal))) continue;
            merges.Add(SplitMerge(l, path, lineNumber));
        }
        return merges;
    }

    static (string, string) SplitMerge(string line, string path, int lineNumber)
    {
        int space = line.IndexOf(' ');
        if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            throw new CheckpointException($"{path}: line {lineNumber} is not a merge \"a b\": {Quote(line)}");
        return (line[..space], line[(space + 1)..]);
    }

    static string ReadFile(string path)
    {
        try { return File.ReadAllText(path, Encoding.UTF8); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot read ({e.Message})", e);
        }
    }

    static string Quote(string s) => JsonSerializer.Serialize(s.Length > 40 ? s[..40] + "…" : s);
}

/// <summary>
/// Turns ids into text one at a time, as a model produces them. A token may end in the middle of a
/// UTF-8 character (emoji, CJK); its bytes are held until the character is complete, so every
/// string returned is valid text and the concatenation of all of them equals
/// <see cref="Gpt2Tokenizer.Decode"/> of all ids. Not thread-safe: one per stream.
/// </summary>
public sealed class Gpt2StreamingDecoder
{
    readonly Gpt2Tokenizer _tokenizer;
    readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    char[] _chars = new char[64];

    internal Gpt2StreamingDecoder(Gpt2Tokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>Adds one id; returns the text completed by it (possibly empty).</summary>
    public string Push(int id) => Convert(_tokenizer.TokenBytes(id), flush: false);

    /// <summary>Ends the stream: bytes of an unfinished character come back as U+FFFD.</summary>
    public string Flush() => Convert([], flush: true);

    string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = bytes.Length + 4; // UTF-8 never yields more chars than bytes, plus what was held back
        if (_chars.Length < needed) _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int n = _utf8.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, n);
    }
}

/// <summary>
/// GPT-2's reversible byte ↔ printable-character mapping: printable Latin-1 bytes stand for
/// themselves, the other 68 bytes are shifted to U+0100 and up (so a space is "Ġ").
/// </summary>
public static class ByteLevel
{
    static readonly char[] ByteToChar = BuildTable();
    static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] BuildTable()
    {
        var table = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)(256 + shifted++);
        }
        return table;
    }

    public static string ToToken(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The bytes a vocabulary string stands for, or null if it has a character outside the alphabet.</summary>
    public static byte[]? ToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!CharToByte.TryGetValue(token[i], out byte b)) return null;
            bytes[i] = b;
        }
        return bytes;
    }
}
