using System.Text.Json;

namespace GanBertBots.Storage.Corpus;

/// <summary>What <see cref="CorpusImport"/> did.</summary>
/// <param name="Rows">Data rows read from the file.</param>
/// <param name="Added">New texts kept.</param>
/// <param name="Duplicates">Rows whose text was already stored (or appeared earlier in the file).</param>
/// <param name="Skipped">Rows whose text could not be kept (empty, too long, ...), with the first few reasons in <paramref name="SkipReasons"/>.</param>
/// <param name="RowsByLabel">Rows per corpus label (empty when the file has no label field).</param>
/// <param name="RowsByWriter">Rows per writer as kept (<see cref="NewText.WrittenBy"/>: "human", "chatGPT", ...).</param>
/// <param name="WriterFrom">How the writers were decided: "label" (each row's label) or "every row" (given or no label field).</param>
public sealed record CorpusImportReport(
    string File, string TextField, string? LabelField, int Rows, int Added, int Duplicates, int Skipped,
    IReadOnlyList<string> SkipReasons, IReadOnlyDictionary<string, int> RowsByLabel)
{
    public IReadOnlyDictionary<string, int> RowsByWriter { get; init; } = new Dictionary<string, int>();
    public string WriterFrom { get; init; } = "every row";
}

/// <summary>An import refused before anything was stored, because the rows' writers could not be kept as the file says.</summary>
public sealed class CorpusLabelException(string message) : FormatException(message);

/// <summary>
/// Seeds the game and the unlabelled pool from a corpus file: CSV with a header row (RFC 4180) or JSON lines.
/// Texts are kept as <see cref="TextOrigin.Corpus"/>, deduplicated by content hash, in batches of one transaction each,
/// with their label (<see cref="NewText.CorpusLabel"/>, as written), the file name (<see cref="NewText.CorpusName"/>) and who
/// wrote them (<see cref="NewText.WrittenBy"/>): the game shows a text as real only when a person wrote it, and rounds train
/// only those as real. Who wrote a row is decided before anything is stored:
/// <list type="bullet">
/// <item><paramref name="writtenBy"/> null: a file without a label field is real texts (every row "human"); a file whose labels
/// all name a writer (<paramref name="writers"/>, any case: "human", "chatGPT", ...) keeps each row's writer; any other label
/// (such as the disaster tweets' 0/1 targets, a topic) is refused, naming the values, since it does not say who wrote the text.</item>
/// <item><paramref name="writtenBy"/> "label": each row's label must name a writer, else refused.</item>
/// <item><paramref name="writtenBy"/> a writer ("human"): every row was written by it; labels are kept as corpus labels, but a
/// label naming a different writer is refused (the file contradicts the option).</item>
/// </list>
/// A row without a label where the label says who wrote it is refused too. A refusal is a <see cref="CorpusLabelException"/>
/// and stores nothing.
/// </summary>
public static class CorpusImport
{
    public const int BatchSize = 500;
    const int ReasonsKept = 10;

    /// <summary>Writers known by default: the default class vocabulary.</summary>
    public static IReadOnlyList<string> DefaultWriters => Labels.Default.Classes;

    /// <summary>The <paramref name="writtenBy"/> value that makes each row's label say who wrote it.</summary>
    public const string FromLabel = "label";

    /// <param name="labelField">The field holding the corpus label; null: "target" or "label" when the file has one.</param>
    /// <param name="writtenBy">Who wrote the rows: null (decide from the labels), "label", or a writer for every row.</param>
    /// <param name="writers">The writers a label may name (default <see cref="DefaultWriters"/>).</param>
    public static async Task<CorpusImportReport> ImportAsync(ILabelStore store, string path, string textField = "text",
        string? labelField = null, int maxTextLength = 20_000, CancellationToken cancellation = default,
        string? writtenBy = null, IReadOnlyCollection<string>? writers = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no such file: {path}", path);
        string corpusName = Path.GetFileName(path);
        writers ??= DefaultWriters;
        IEnumerable<Row> Rows() => path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)
            ? ReadJsonLines(path, textField, labelField)
            : ReadCsv(path, textField, labelField);
        var writerOf = DecideWriters(Rows(), path, writtenBy, writers, cancellation);
        var rows = Rows();

        int count = 0, added = 0, duplicates = 0, skipped = 0;
        string? usedLabelField = null;
        var reasons = new List<string>();
        var byLabel = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byWriter = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var batch = new List<NewText>(BatchSize);
        async Task FlushAsync()
        {
            if (batch.Count == 0) return;
            var kept = await store.AddTextsAsync(batch, cancellation);
            added += kept.Added;
            duplicates += kept.Duplicates;
            batch.Clear();
        }

        foreach (var row in rows)
        {
            cancellation.ThrowIfCancellationRequested();
            count++;
            usedLabelField = row.LabelField;
            if (row.Label is { } label) byLabel[label] = byLabel.GetValueOrDefault(label) + 1;
            if (TextRules.Problem(row.Text, maxTextLength) is { } problem)
            {
                skipped++;
                if (reasons.Count < ReasonsKept) reasons.Add($"{row.Where}: {problem}");
                continue;
            }
            string writer = writerOf.Writer(row.Label);
            byWriter[writer] = byWriter.GetValueOrDefault(writer) + 1;
            batch.Add(new NewText(row.Text!, TextOrigin.Corpus) { CorpusName = corpusName, CorpusLabel = row.Label, WrittenBy = writer });
            if (batch.Count == BatchSize) await FlushAsync();
        }
        await FlushAsync();
        return new CorpusImportReport(path, textField, usedLabelField ?? labelField, count, added, duplicates, skipped, reasons, byLabel)
        {
            RowsByWriter = byWriter,
            WriterFrom = writerOf.FromLabel ? "each row's label" : "every row",
        };
    }

    /// <summary>How a row's writer follows from its label: each label's writer, or one writer for every row.</summary>
    sealed record Writers(bool FromLabel, string? Every, IReadOnlyDictionary<string, string> ByLabel)
    {
        public string Writer(string? label) => FromLabel ? ByLabel[label!] : Every!;
    }

    /// <summary>Reads every row once and decides who wrote each, or refuses (nothing stored yet).</summary>
    static Writers DecideWriters(IEnumerable<Row> rows, string path, string? writtenBy, IReadOnlyCollection<string> writers, CancellationToken ct)
    {
        string? Known(string? label) => label is null ? null : writers.FirstOrDefault(w => string.Equals(w, label.Trim(), StringComparison.OrdinalIgnoreCase));
        string? every = null;
        if (writtenBy is not null && !string.Equals(writtenBy, FromLabel, StringComparison.OrdinalIgnoreCase))
            every = Known(writtenBy) ?? throw new CorpusLabelException(
                $"--written-by {writtenBy}: not a writer I know (known: {string.Join(", ", writers)}, or '{FromLabel}' for each row's label); nothing imported");

        string? field = null;
        var unknown = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        var contradicting = new SortedSet<string>(StringComparer.Ordinal);
        var unlabelled = new List<string>();
        int unlabelledCount = 0, rowCount = 0;
        foreach (var row in rows)
        {
            ct.ThrowIfCancellationRequested();
            rowCount++;
            field ??= row.LabelField;
            if (row.LabelField is null || string.IsNullOrWhiteSpace(row.Label))
            {
                if (unlabelledCount++ < 5) unlabelled.Add(row.Where);
                continue;
            }
            if (Known(row.Label) is { } w)
            {
                known[row.Label] = w;
                if (every is not null && !string.Equals(w, every, StringComparison.Ordinal)) contradicting.Add(row.Label);
            }
            else unknown[row.Label] = unknown.GetValueOrDefault(row.Label) + 1;
        }
        string name = Path.GetFileName(path);
        static string List(IEnumerable<string> values, int most = 8)
        {
            var all = values.ToList();
            return string.Join(", ", all.Take(most).Select(v => $"'{v}'")) + (all.Count > most ? $" and {all.Count - most} more" : "");
        }

        if (every is not null)
        {
            if (contradicting.Count > 0)
                throw new CorpusLabelException(
                    $"{name}: --written-by {every}, but the label field '{field}' says {List(contradicting)} wrote some rows; " +
                    $"nothing imported. Use --written-by {FromLabel} to keep each row's writer.");
            return new Writers(false, every, known);
        }
        bool fromLabel = string.Equals(writtenBy, FromLabel, StringComparison.OrdinalIgnoreCase);
        if (field is null)
        {
            if (fromLabel && rowCount > 0)
                throw new CorpusLabelException($"{name}: --written-by {FromLabel}, but the file has no label field (give --label-field); nothing imported");
            return new Writers(false, StoredText.Human, known);     // no labels: real texts, the documented use
        }
        string writerList = string.Join(", ", writers);
        if (unknown.Count > 0)
            throw new CorpusLabelException(
                $"{name}: the label field '{field}' holds {List(unknown.Keys)}, which {(unknown.Count == 1 ? "does" : "do")} not say who wrote a text " +
                $"(writers I know: {writerList}), so the labels cannot be kept as writers; nothing imported. " +
                (known.Count > 0
                    ? "Map those labels to known writers first."
                    : "If people wrote every text, pass --written-by human (the labels are kept as corpus labels)."));
        if (unlabelledCount > 0)
            throw new CorpusLabelException(
                $"{name}: the label field '{field}' says who wrote each text, but {unlabelledCount} row{(unlabelledCount == 1 ? " has" : "s have")} " +
                $"no label ({string.Join(", ", unlabelled)}{(unlabelledCount > 5 ? ", ..." : "")}); nothing imported");
        return new Writers(true, null, known);
    }

    sealed record Row(string? Text, string? Label, string? LabelField, string Where);

    static IEnumerable<Row> ReadCsv(string path, string textField, string? labelField)
    {
        using var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        var table = new CsvTable(reader);
        int text = table.Column(textField);
        labelField ??= new[] { "target", "label" }.FirstOrDefault(table.HasColumn);
        int label = labelField is null ? -1 : table.Column(labelField);
        int number = 0;
        foreach (var record in table.Records())
        {
            number++;
            yield return new Row(record[text], label < 0 ? null : record[label], labelField, $"row {number}");
        }
    }

    static IEnumerable<Row> ReadJsonLines(string path, string textField, string? labelField)
    {
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument document;
            try { document = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new FormatException($"{path} line {lineNumber}: not valid JSON ({e.Message})"); }
            using var owned = document;
            var obj = document.RootElement;
            if (obj.ValueKind != JsonValueKind.Object) throw new FormatException($"{path} line {lineNumber}: not a JSON object");
            if (!obj.TryGetProperty(textField, out var text))
                throw new FormatException($"{path} line {lineNumber}: no field '{textField}'");
            if (text.ValueKind != JsonValueKind.String)
                throw new FormatException($"{path} line {lineNumber}: field '{textField}' is {text.ValueKind}, not a string");
            string? field = labelField ?? new[] { "target", "label" }.FirstOrDefault(n => obj.TryGetProperty(n, out _));
            string? label = null;
            if (field is not null)
            {
                if (!obj.TryGetProperty(field, out var value))
                    throw new FormatException($"{path} line {lineNumber}: no field '{field}'");
                label = value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Null => null,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                    _ => throw new FormatException($"{path} line {lineNumber}: field '{field}' is {value.ValueKind}, not a label"),
                };
            }
            yield return new Row(text.GetString(), label, field, $"line {lineNumber}");
        }
    }
}
