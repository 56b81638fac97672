using GanBertBots.Storage;
using GanBertBots.Storage.Corpus;

namespace GanBertBots.Host.Cli;

/// <summary><c>export-labels --out FILE.jsonl</c>: every label with its text, for training and audit.</summary>
public sealed class ExportLabelsVerb : ICliVerb
{
    public string Name => "export-labels";
    public string Summary => "Export the collected labels with their texts as JSON lines";
    public string Usage => """
        Usage: ganbertbots export-labels --out FILE.jsonl [--source moderator,user_feedback,game_guess]

          --out      where to write (replaced atomically when the export is complete)
          --source   only labels from these sources (comma-separated; default: all)

        One JSON object per line: label_id, text_id, text, origin, class, source, platform, user, role, weight, labelled_at.
        The store is the one configured under Storage (Storage:Provider, Storage:ConnectionString).
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args);
        string output = a.Require("out");
        var sources = ParseSources(a.Get("source"));
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        return StorageCli.WithStoreAsync(context, Name, async (store, options) =>
        {
            long count = await LabelExport.WriteJsonLinesAsync(store, output, sources, context.Cancellation);
            context.Out.WriteLine($"wrote {count:N0} labels from {StorageCli.Describe(options)} to {output}");
            return 0;
        });
    }

    static IReadOnlyCollection<LabelSource>? ParseSources(string? list)
    {
        if (list is null) return null;
        var sources = new List<LabelSource>();
        foreach (string name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string key = name.Replace("_", "").Replace("-", "");
            if (!Enum.TryParse<LabelSource>(key, ignoreCase: true, out var source) || !Enum.IsDefined(source))
                throw new CliUsageException($"--source: unknown source '{name}' (moderator, user_feedback, game_guess)");
            sources.Add(source);
        }
        return sources;
    }
}
