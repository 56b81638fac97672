using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GanBertBots.Models;

namespace GanBertBots.Training.Detector;

/// <summary>One text for the detector: its label (null when unlabelled) and the group it belongs to (a topic or source, for splitting).</summary>
public sealed record LabelledText(string Text, string? Label, string? Group = null);

/// <summary>
/// Reads detector data from <c>.jsonl</c> (one object per line) or <c>.csv</c> (RFC 4180: quoted
/// fields may hold commas, quotes and newlines). White space runs are collapsed to one space so
/// the detector cannot learn line-break habits (arXiv's hard wraps, for instance).
/// </summary>
public static partial class DetectorData
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();

    public static string NormaliseWhiteSpace(string text) => WhiteSpace().Replace(text, " ").Trim();

    public static List<LabelledText> Load(string path, string textField, string? labelField, string? groupField = null)
    {
        if (!File.Exists(path)) throw new UserFacingException($"{path}: data file not found");
        var rows = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".jsonl" or ".ndjson" => ReadJsonl(path),
            ".csv" => ReadCsv(path),
            var ext => throw new UserFacingException($"{path}: unsupported data format '{ext}' (use .jsonl or .csv)"),
        };
        var result = new List<LabelledText>();
        foreach (var (line, row) in rows)
        {
            string Where() => $"{path}:{line}";
            if (!row.TryGetValue(textField, out var text))
                throw new UserFacingException($"{Where()}: no field '{textField}' (fields: {string.Join(", ", row.Keys)})");
            if (labelField is not null && !row.ContainsKey(labelField))
                throw new UserFacingException($"{Where()}: no field '{labelField}' (fields: {string.Join(", ", row.Keys)})");
            if (groupField is not null && !row.ContainsKey(groupField))
                throw new UserFacingException($"{Where()}: no field '{groupField}' (fields: {string.Join(", ", row.Keys)})");
            text = NormaliseWhiteSpace(text ?? "");
            if (text.Length == 0) continue; // nothing to learn from or to detect
            string? label = labelField is null ? null : row[labelField];
            result.Add(new LabelledText(text, string.IsNullOrWhiteSpace(label) ? null : label.Trim(), groupField is null ? null : row[groupField]));
        }
        if (result.Count == 0) throw new UserFacingException($"{path}: no rows with text in field '{textField}'");
        return result;
    }

    static IEnumerable<(int Line, Dictionary<string, string?> Row)> ReadJsonl(string path)
    {
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            JsonObject o;
            try { o = JsonNode.Parse(raw) as JsonObject ?? throw new UserFacingException($"{path}:{line}: not a JSON object"); }
            catch (JsonException e) { throw new UserFacingException($"{path}:{line}: not valid JSON ({e.Message})"); }
            var row = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (k, v) in o)
                row[k] = v is null ? null : v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v.ToJsonString();
            yield return (line, row);
        }
    }

    static IEnumerable<(int Line, Dictionary<string, string?> Row)> ReadCsv(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var records = CsvRecords(reader, path).GetEnumerator();
        if (!records.MoveNext()) throw new UserFacingException($"{path}: empty CSV file (no header)");
        var header = records.Current.Fields;
        while (records.MoveNext())
        {
            var (line, fields) = records.Current;
            if (fields.Count == 1 && fields[0].Length == 0) continue; // blank line
            if (fields.Count != header.Count)
                throw new UserFacingException($"{path}:{line}: {fields.Count} fields, but the header has {header.Count}");
            var row = new Dictionary<string, string?>(StringComparer.Ordinal);
            for (int i = 0; i < header.Count; i++) row[header[i]] = fields[i];
            yield return (line, row);
        }
    }

    /// <summary>RFC 4180 records: fields split by commas; quoted fields may hold commas, doubled quotes and newlines.</summary>
    static IEnumerable<(int Line, List<string> Fields)> CsvRecords(TextReader reader, string path)
    {
        int line = 1;
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, any = false;
        int start = 1;
        while (true)
        {
            int c = reader.Read();
            if (c == -1)
            {
                if (quoted) throw new UserFacingException($"{path}:{start}: a quoted field is never closed");
                if (any || field.Length > 0 || fields.Count > 0) { fields.Add(field.ToString()); yield return (start, fields); }
                yield break;
            }
            any = true;
            if (quoted)
            {
                if (c == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                    else quoted = false;
                }
                else { if (c == '\n') line++; field.Append((char)c); }
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; break;
                case ',': fields.Add(field.ToString()); field.Clear(); break;
                case '\r': break;
                case '\n':
                    fields.Add(field.ToString());
                    yield return (start, fields);
                    fields = new List<string>();
                    field.Clear();
                    line++;
                    start = line;
                    any = false;
                    break;
                default: field.Append((char)c); break;
            }
        }
    }

    /// <summary>
    /// Splits rows into train and held-out parts by group (a topic or source never sits on both
    /// sides), holding out about <paramref name="heldOutFraction"/> of the groups.
    /// </summary>
    public static (List<LabelledText> Train, List<LabelledText> HeldOut) SplitByGroup(IReadOnlyList<LabelledText> rows, double heldOutFraction, int seed)
    {
        if (heldOutFraction is <= 0 or >= 1) throw new UserFacingException($"held-out fraction {heldOutFraction} must be between 0 and 1");
        var groups = rows.Select(r => r.Group ?? throw new UserFacingException("splitting by group needs a group field on every row"))
            .Distinct(StringComparer.Ordinal).OrderBy(g => g, StringComparer.Ordinal).ToList();
        if (groups.Count < 2) throw new UserFacingException($"only {groups.Count} group(s): cannot split by group");
        var rng = new Random(seed);
        var shuffled = groups.OrderBy(_ => rng.Next()).ToList();
        int heldCount = Math.Clamp((int)Math.Round(groups.Count * heldOutFraction), 1, groups.Count - 1);
        var held = new HashSet<string>(shuffled.Take(heldCount), StringComparer.Ordinal);
        return (rows.Where(r => !held.Contains(r.Group!)).ToList(), rows.Where(r => held.Contains(r.Group!)).ToList());
    }

    public static void WriteJsonl(string path, IEnumerable<LabelledText> rows)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        foreach (var r in rows)
            w.WriteLine(new JsonObject { ["text"] = r.Text, ["label"] = r.Label, ["group"] = r.Group }.ToJsonString());
    }
}
