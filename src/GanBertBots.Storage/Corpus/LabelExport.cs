using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GanBertBots.Storage.Corpus;

/// <summary>One line of <c>export-labels</c>: a label with its text.</summary>
public sealed record ExportedLabel(
    [property: JsonPropertyName("label_id")] long LabelId,
    [property: JsonPropertyName("text_id")] long TextId,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("origin")] string Origin,
    [property: JsonPropertyName("class")] string Class,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("platform")] string Platform,
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("weight")] double Weight,
    [property: JsonPropertyName("labelled_at")] DateTimeOffset LabelledAt)
{
    public static ExportedLabel From(LabelForTraining l) =>
        new(l.LabelId, l.TextId, l.Text, DbNames.Of(l.Origin), l.Class, DbNames.Of(l.Source), l.Who.Platform, l.Who.PlatformUserId,
            DbNames.Of(l.Role), l.Weight, l.LabelledAt);
}

/// <summary>Writes the store's labels as JSON lines (training and audit).</summary>
public static class LabelExport
{
    static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes every label (optionally only some sources) to <paramref name="path"/>: first to a temporary file
    /// beside it, renamed into place at the end, so a failed export never leaves half a file under the name.
    /// Returns the number of labels written.
    /// </summary>
    public static async Task<long> WriteJsonLinesAsync(ILabelStore store, string path,
        IReadOnlyCollection<LabelSource>? sources = null, CancellationToken cancellation = default)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + ".partial";
        long count = 0;
        try
        {
            await using (var writer = new StreamWriter(temp, append: false, new UTF8Encoding(false)))
            {
                writer.NewLine = "\n";
                await foreach (var label in store.ExportLabelsAsync(sources, cancellation))
                {
                    await writer.WriteLineAsync(JsonSerializer.Serialize(ExportedLabel.From(label), Json).AsMemory(), cancellation);
                    count++;
                }
            }
            File.Move(temp, full, overwrite: true);
            return count;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
