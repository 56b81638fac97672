using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GanBertBots.Models;
using GanBertBots.Training.Data;

namespace GanBertBots.Training.Detector;

/// <summary>One text for the detector: its label (null when unlabelled) and the group it belongs to (a topic or source, for splitting).</summary>
public sealed record LabelledText(string Text, string? Label, string? Group = null);

/// <summary>
/// Reads detector data from <c>.jsonl</c> or <c>.csv</c> through <see cref="TextTable"/> (RFC 4180: quoted
/// fields may hold commas, quotes and newlines). White space runs are collapsed to one space so
/// the detector cannot learn line-break habits (arXiv's hard wraps, for instance).
/// </summary>
public static partial class DetectorData
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();

    public static string NormaliseWhiteSpace(string text) => WhiteSpace().Replace(text, " ").Trim();

    public static List<LabelledText> Load(string path, string textField, string? labelField, string? groupField = null) =>
        LoadWithFields(path, textField, labelField, groupField).Rows;

    /// <summary><see cref="Load"/>, and the field names of the file's first row (to see, say, whether it has a preset's group field).</summary>
    public static (List<LabelledText> Rows, IReadOnlyCollection<string> Fields) LoadWithFields(
        string path, string textField, string? labelField, string? groupField = null)
    {
        IReadOnlyList<IReadOnlyDictionary<string, string>> rows;
        try { rows = TextTable.Read(path).ToList(); }
        catch (Exception e) when (e is FormatException or FileNotFoundException) { throw new UserFacingException(e.Message, e); }
        var result = new List<LabelledText>();
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            string Where() => $"{path}: row {r + 1}";
            if (!row.TryGetValue(textField, out var text))
                throw new UserFacingException($"{Where()}: no field '{textField}' (fields: {string.Join(", ", row.Keys)})");
            if (labelField is not null && !row.ContainsKey(labelField))
                throw new UserFacingException($"{Where()}: no field '{labelField}' (fields: {string.Join(", ", row.Keys)})");
            if (groupField is not null && !row.ContainsKey(groupField))
                throw new UserFacingException($"{Where()}: no field '{groupField}' (fields: {string.Join(", ", row.Keys)})");
            text = NormaliseWhiteSpace(text);
            if (text.Length == 0) continue; // nothing to learn from or to detect
            string? label = labelField is null ? null : row[labelField];
            result.Add(new LabelledText(text, string.IsNullOrWhiteSpace(label) ? null : label.Trim(), groupField is null ? null : row[groupField]));
        }
        if (result.Count == 0) throw new UserFacingException($"{path}: no rows with text in field '{textField}'");
        return (result, rows[0].Keys.ToList());
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

    /// <summary>
    /// Splits rows at random (for data without groups), holding out about <paramref name="heldOutFraction"/> of each
    /// label's rows (unlabelled rows count as one more label), so that a small split still has every class it can.
    /// </summary>
    public static (List<LabelledText> Train, List<LabelledText> HeldOut) SplitRows(IReadOnlyList<LabelledText> rows, double heldOutFraction, int seed)
    {
        if (heldOutFraction is <= 0 or >= 1) throw new UserFacingException($"held-out fraction {heldOutFraction} must be between 0 and 1");
        if (rows.Count < 2) throw new UserFacingException($"only {rows.Count} row(s): cannot split");
        var rng = new Random(seed);
        var held = new HashSet<int>();
        foreach (var label in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].Label ?? "").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            // A label's share, rounded; a label with one row stays in training.
            int count = label.Count();
            int take = Math.Min((int)Math.Round(count * heldOutFraction), count - 1);
            held.UnionWith(label.OrderBy(_ => rng.Next()).Take(take));
        }
        // At least one row held out and one kept, whatever the rounding did.
        if (held.Count == 0) held.Add(rng.Next(rows.Count));
        return (rows.Where((_, i) => !held.Contains(i)).ToList(), rows.Where((_, i) => held.Contains(i)).ToList());
    }

    public static void WriteJsonl(string path, IEnumerable<LabelledText> rows)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        foreach (var r in rows)
            w.WriteLine(new JsonObject { ["text"] = r.Text, ["label"] = r.Label, ["group"] = r.Group }.ToJsonString());
    }
}
