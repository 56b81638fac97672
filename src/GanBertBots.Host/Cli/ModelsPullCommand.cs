using Microsoft.Extensions.DependencyInjection;
using GanBertBots.Models.Hub;
using Spectre.Console;

namespace GanBertBots.Host.Cli;

/// <summary><c>models pull NAME</c>: download a checkpoint from a Hugging Face compatible hub.</summary>
public sealed class ModelsPullCommand : IModelsCommand
{
    const string HubClient = "hub";

    public string Name => "pull";
    public string Summary => "Download a checkpoint from the model hub into models/NAME/ (resumable, verified, atomic)";
    public string Usage => $"""
          ganbertbots models pull NAME [--hub URL] [--revision main] [--dest models/] [--as LOCALNAME] [--force]
            NAME            {string.Join(", ", HubCheckpoint.Catalogue.Select(c => c.LocalName))}, or any hub repository owner/name
            --hub URL       hub base address (default: Hub:BaseUrl, https://huggingface.co)
            --revision REV  branch, tag or commit (default: main)
            --dest DIR      models folder (default: Hub:ModelsDirectory, "models")
            --as LOCALNAME  folder name under --dest (default: NAME, or the part after the slash)
            --force         download again even if the model directory exists (replaced only once verified)
          Set HF_TOKEN (or Hub:Token) for gated repositories.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "force");
        var options = HubSettings.Read(context.Configuration);
        options.BaseUrl = a.Get("hub") ?? options.BaseUrl;
        options.ModelsDirectory = a.Get("dest") ?? options.ModelsDirectory;
        string revision = a.Get("revision") ?? "main";
        string? localName = a.Get("as");
        bool force = a.Flag("force");
        a.RejectUnknown();
        if (a.Positional.Count != 1) throw new CliUsageException("give exactly one model name, e.g. 'models pull gpt2'");
        var checkpoint = HubCheckpoint.Resolve(a.Positional[0], localName);

        // The hub's HttpClient from the factory, like every HTTP client of the product (no generic retry handler: the
        // downloader resumes an interrupted file with a Range request, which a blind retry would not do).
        await using var services = new ServiceCollection()
            .AddHttpClient(HubClient).ConfigurePrimaryHttpMessageHandler(() => CheckpointDownloader.PrimaryHandler(options)).Services
            .BuildServiceProvider();
        using var downloader = new CheckpointDownloader(options, services.GetRequiredService<IHttpClientFactory>().CreateClient(HubClient));
        PullResult result;
        try
        {
            result = context.Interactive
                ? await PullWithProgressBarsAsync(downloader, checkpoint, revision, force, context.Cancellation)
                : await downloader.PullAsync(checkpoint, revision, force, new PlainProgress(context.Out), context.Cancellation);
        }
        catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
        {
            context.Error.WriteLine($"Stopped. What was downloaded is kept in {Path.Combine(options.ModelsDirectory, "." + checkpoint.LocalName + ".partial")}; the same command resumes it.");
            throw;
        }

        if (result.AlreadyExisted)
        {
            var local = LocalCheckpoint.Inspect(result.Directory);
            context.Out.WriteLine(local.IsComplete
                ? $"{result.Directory} already exists ({local.ModelType}, {Bytes.Format(local.SizeBytes)}); --force downloads it again."
                : $"{result.Directory} already exists but is incomplete (missing {string.Join(", ", local.MissingFiles)}); --force downloads it again.");
            return 0;
        }
        context.Out.WriteLine($"{checkpoint.RepoId}@{revision} → {result.Directory}: {result.Files.Count} files, "
                              + $"{Bytes.Format(result.BytesDownloaded)} downloaded"
                              + (result.SkippedOptionalFiles.Count > 0 ? $" (not in the repository: {string.Join(", ", result.SkippedOptionalFiles)})" : ""));
        return 0;
    }

    static async Task<PullResult> PullWithProgressBarsAsync(CheckpointDownloader downloader, HubCheckpoint checkpoint, string revision,
        bool force, CancellationToken cancellation)
    {
        PullResult? result = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                var progress = new Reporter<PullProgress>(p =>
                {
                    if (!bars.TryGetValue(p.File, out var bar)) bars[p.File] = bar = ctx.AddTask(Markup.Escape(p.File), maxValue: 1);
                    bar.IsIndeterminate = p.Total is null && p.Stage is PullStage.Started or PullStage.Transferring;
                    if (p.Total is long total && total > 0) bar.MaxValue = total;
                    switch (p.Stage)
                    {
                        case PullStage.Started:
                        case PullStage.Transferring:
                            bar.Description = Markup.Escape(p.File);
                            bar.Value = p.Received;
                            break;
                        case PullStage.Retrying:
                            bar.Description = $"{Markup.Escape(p.File)} [yellow]{Markup.Escape(p.Message ?? "retrying")}[/]";
                            break;
                        case PullStage.Skipped:
                            bar.Description = $"{Markup.Escape(p.File)} [grey](not in the repository)[/]";
                            bar.Value = bar.MaxValue;
                            bar.StopTask();
                            break;
                        default:
                            bar.Description = Markup.Escape(p.File);
                            bar.Value = bar.MaxValue;
                            bar.StopTask();
                            break;
                    }
                });
                result = await downloader.PullAsync(checkpoint, revision, force, progress, cancellation);
            });
        return result!;
    }

    /// <summary>Progress as plain log lines (stdout redirected): start, every tenth, retries, end of each file.</summary>
    sealed class PlainProgress(TextWriter output) : IProgress<PullProgress>
    {
        readonly Dictionary<string, int> _lastTenth = new();

        public void Report(PullProgress p)
        {
            string size = p.Total is long t ? Bytes.Format(t) : "size unknown";
            switch (p.Stage)
            {
                case PullStage.Started:
                    _lastTenth[p.File] = p.Total is long total && total > 0 ? (int)(p.Received * 10 / total) : 0;
                    output.WriteLine(p.Received > 0 ? $"{p.File}: resuming at {Bytes.Format(p.Received)} of {size}" : $"{p.File}: downloading ({size})");
                    break;
                case PullStage.Transferring when p.Total is long all && all > 0:
                    int tenth = (int)(p.Received * 10 / all);
                    if (tenth > _lastTenth.GetValueOrDefault(p.File) && tenth < 10)
                    {
                        _lastTenth[p.File] = tenth;
                        output.WriteLine($"{p.File}: {tenth * 10}% ({Bytes.Format(p.Received)} of {size})");
                    }
                    break;
                case PullStage.Retrying: output.WriteLine($"{p.File}: {p.Message}"); break;
                case PullStage.Completed: output.WriteLine($"{p.File}: done, verified ({Bytes.Format(p.Received)})"); break;
                case PullStage.AlreadyPresent: output.WriteLine($"{p.File}: already downloaded and verified"); break;
                case PullStage.Skipped: output.WriteLine($"{p.File}: not in the repository, skipped"); break;
            }
        }
    }

    /// <summary>Calls back synchronously on the reporting thread (unlike Progress&lt;T&gt;, which posts and may reorder).</summary>
    sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
