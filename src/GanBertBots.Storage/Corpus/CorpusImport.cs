using System.Text.Json;

namespace GanBertBots.Storage.Corpus;

/// <summary>What <see cref="CorpusImport"/> did.</summary>
/// <param name="Rows">Data rows read from the file.</param>
/// <param name="Added">New texts kept.</param>
/// <param name="Duplicates">Rows whose text was already stored (or appeared earlier in the file).</param>
/// <param name="Skipped">Rows whose text could not be kept (empty, too long, ...), with the first few reasons in <paramref name="SkipReasons"/>.</param>
/// <param name="RowsByLabel">Rows per corpus label (empty when the file has no label field).</param>
public sealed record CorpusImportReport(
    string File, string TextField, string? LabelField, int Rows, int Added, int Duplicates, int Skipped,
    IReadOnlyList<string> SkipReasons, IReadOnlyDictionary<string, int> RowsByLabel);

/// <summary>
/// Seeds the game and the unlabelled pool from a corpus file: CSV with a header row (RFC 4180) or JSON lines.
/// Texts are kept as <see cref="TextOrigin.Corpus"/>, deduplicated by content hash, in batches of one transaction each.
/// </summary>
public static class CorpusImport
{
    public const int BatchSize = 500;
    const int ReasonsKept = 10;

    /// <param name="labelField">The field holding the corpus label; null: "target" or "label" when the file has one.</param>
    public static async Task<CorpusImportReport> ImportAsync(ILabelStore store, string path, string textField = "text",
        string? labelField = null, int maxTextLength = 20_000, CancellationToken cancellation = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no such file: {path}", path);
        string corpusName = Path.GetFileName(path);
        var rows = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)
            ? ReadJsonLines(path, textField, labelField)
            : ReadCsv(path, textField, labelField);

        int count = 0, added = 0, duplicates = 0, skipped = 0;
        string? usedLabelField = null;
        var reasons = new List<string>();
        var byLabel = new SortedDictionary<string, int>(StringComparer.Ordinal);
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
            batch.Add(new NewText(row.Text!, TextOrigin.Corpus) { CorpusName = corpusName, CorpusLabel = row.Label });
            if (batch.Count == BatchSize) await FlushAsync();
        }
        await FlushAsync();
        return new CorpusImportReport(path, textField, usedLabelField ?? labelField, count, added, duplicates, skipped, reasons, byLabel);
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
