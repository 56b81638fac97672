using System.Text.Json;
using GanBertBots.Storage.Corpus;

namespace GanBertBots.Training.Data;

/// <summary>
/// Rows of named text fields from a <c>.csv</c> (RFC 4180, header row) or <c>.jsonl</c> file
/// (one JSON object a line; numbers and booleans are read as their text, null as empty).
/// </summary>
public static class TextTable
{
    public static IEnumerable<IReadOnlyDictionary<string, string>> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: data file not found", path);
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".csv" => ReadCsv(path),
            ".jsonl" or ".ndjson" or ".json" => ReadJsonLines(path),
            _ => throw new FormatException($"{path}: unknown data format '{ext}' (use .csv with a header row, or .jsonl)"),
        };
    }

    static IEnumerable<IReadOnlyDictionary<string, string>> ReadCsv(string path)
    {
        using var reader = new StreamReader(path);
        var table = new CsvTable(reader);
        foreach (var record in table.Records())
        {
            var row = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < table.Header.Count && i < record.Length; i++) row[table.Header[i]] = record[i];
            yield return row;
        }
    }

    static IEnumerable<IReadOnlyDictionary<string, string>> ReadJsonLines(string path)
    {
        int lineNo = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            Dictionary<string, string> row;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException($"{path}:{lineNo}: not a JSON object");
                row = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var p in doc.RootElement.EnumerateObject())
                    row[p.Name] = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString()!,
                        JsonValueKind.Null => "",   // present but empty: a missing label, not the word "null"
                        _ => p.Value.GetRawText(),
                    };
            }
            catch (JsonException e) { throw new FormatException($"{path}:{lineNo}: invalid JSON ({e.Message})", e); }
            yield return row;
        }
    }
}
