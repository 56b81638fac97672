using GanBertBots.Storage.Corpus;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Host.Cli;

/// <summary><c>import-corpus FILE</c>: seeds the game and the unlabelled pool with real texts.</summary>
public sealed class ImportCorpusVerb : ICliVerb
{
    public string Name => "import-corpus";
    public string Summary => "Import a corpus (CSV or JSON lines) into the label store, deduplicated";
    public string Usage => """
        Usage: ganbertbots import-corpus FILE [--text-field text] [--label-field target] [--written-by human|label]

          FILE            CSV with a header row (RFC 4180: quoted fields may hold commas, newlines, "")
                          or JSON lines (.jsonl), one object per line.
          --text-field    field holding the text (default: text)
          --label-field   field holding the corpus label (default: target or label when present)
          --written-by    who wrote the texts: a writer for every row (human), or 'label' for each row's label.
                          Default: a file without labels is human-written; labels that all name a writer
                          (human, chatGPT, cohere, ... as in Bots:Classes) are kept as each row's writer;
                          other labels (e.g. a topic such as 0/1) are refused unless --written-by says who wrote the rows.

        Texts are stored as corpus texts with their label and writer, deduplicated by content hash; the counts are
        printed. The game shows only human-written corpus texts as real, and rounds train only those as human.
        The store is the one configured under Storage (Storage:Provider, Storage:ConnectionString).
        Examples: ganbertbots import-corpus ../shared/data/disaster-tweets/train.csv --written-by human
                  ganbertbots import-corpus ../shared/data/m4-subset/m4_subset.jsonl
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args);
        string textField = a.Get("text-field") ?? "text";
        string? labelField = a.Get("label-field");
        string? writtenBy = a.Get("written-by");
        var writers = LabelsConfiguration.Read(context.Configuration).Classes.Union(CorpusImport.DefaultWriters, StringComparer.OrdinalIgnoreCase).ToList();
        a.RejectUnknown();
        if (a.Positional.Count != 1) throw new CliUsageException("give exactly one FILE");
        string file = a.Positional[0];
        return StorageCli.WithStoreAsync(context, Name, async (store, options) =>
        {
            var report = await CorpusImport.ImportAsync(store, file, textField, labelField, options.MaxTextLength, context.Cancellation,
                writtenBy, writers);
            context.Out.WriteLine($"imported {report.File} into {StorageCli.Describe(options)}");
            context.Out.WriteLine($"  rows read   {report.Rows,8:N0}   (text field '{report.TextField}', label field '{report.LabelField ?? "none"}')");
            context.Out.WriteLine($"  added       {report.Added,8:N0}");
            context.Out.WriteLine($"  duplicates  {report.Duplicates,8:N0}   (same text already stored)");
            context.Out.WriteLine($"  skipped     {report.Skipped,8:N0}");
            foreach (string reason in report.SkipReasons) context.Out.WriteLine($"    {reason}");
            foreach (var (label, n) in report.RowsByLabel) context.Out.WriteLine($"  label {label,-10} {n,8:N0} rows");
            context.Out.WriteLine($"  written by ({report.WriterFrom}):");
            foreach (var (writer, n) in report.RowsByWriter) context.Out.WriteLine($"    {writer,-10} {n,8:N0} rows");
            return 0;
        });
    }
}
