using GanBertBots.Storage.Corpus;

namespace GanBertBots.Host.Cli;

/// <summary><c>import-corpus FILE</c>: seeds the game and the unlabelled pool with real texts.</summary>
public sealed class ImportCorpusVerb : ICliVerb
{
    public string Name => "import-corpus";
    public string Summary => "Import a corpus (CSV or JSON lines) into the label store, deduplicated";
    public string Usage => """
        Usage: ganbertbots import-corpus FILE [--text-field text] [--label-field target]

          FILE            CSV with a header row (RFC 4180: quoted fields may hold commas, newlines, "")
                          or JSON lines (.jsonl), one object per line.
          --text-field    field holding the text (default: text)
          --label-field   field holding the corpus label (default: target or label when present)

        Texts are stored as corpus texts, deduplicated by content hash; the counts are printed.
        The store is the one configured under Storage (Storage:Provider, Storage:ConnectionString).
        Example: ganbertbots import-corpus ../shared/data/disaster-tweets/train.csv
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args);
        string textField = a.Get("text-field") ?? "text";
        string? labelField = a.Get("label-field");
        a.RejectUnknown();
        if (a.Positional.Count != 1) throw new CliUsageException("give exactly one FILE");
        string file = a.Positional[0];
        return StorageCli.WithStoreAsync(context, Name, async (store, options) =>
        {
            var report = await CorpusImport.ImportAsync(store, file, textField, labelField, options.MaxTextLength, context.Cancellation);
            context.Out.WriteLine($"imported {report.File} into {StorageCli.Describe(options)}");
            context.Out.WriteLine($"  rows read   {report.Rows,8:N0}   (text field '{report.TextField}', label field '{report.LabelField ?? "none"}')");
            context.Out.WriteLine($"  added       {report.Added,8:N0}");
            context.Out.WriteLine($"  duplicates  {report.Duplicates,8:N0}   (same text already stored)");
            context.Out.WriteLine($"  skipped     {report.Skipped,8:N0}");
            foreach (string reason in report.SkipReasons) context.Out.WriteLine($"    {reason}");
            foreach (var (label, n) in report.RowsByLabel) context.Out.WriteLine($"  label {label,-10} {n,8:N0} rows");
            return 0;
        });
    }
}
