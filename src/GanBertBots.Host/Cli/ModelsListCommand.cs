using GanBertBots.Models.Hub;

namespace GanBertBots.Host.Cli;

/// <summary><c>models list</c>: the model directories under the models folder.</summary>
public sealed class ModelsListCommand : IModelsCommand
{
    public string Name => "list";
    public string Summary => "List local model directories (name, kind from config.json, size, whether its loader can load it)";
    public string Usage => """
          ganbertbots models list [--dest DIR]
            --dest DIR   models folder (default: Hub:ModelsDirectory, "models")
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args);
        var options = HubSettings.Read(context.Configuration);
        string dest = a.Get("dest") ?? options.ModelsDirectory;
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");

        var models = LocalCheckpoint.List(dest);
        var partials = LocalCheckpoint.PartialDownloads(dest);
        var w = context.Out;
        if (models.Count == 0) w.WriteLine($"No models in {Path.GetFullPath(dest)}. Get one with: ganbertbots models pull gpt2 (needs the hub), " +
            "or train one offline with train-generator / train-detector (the service's log and the README's set-up say how).");
        else
        {
            int width = Math.Max(4, models.Max(m => m.Name.Length));
            w.WriteLine($"{"NAME".PadRight(width)}  {"KIND",-12} {"SIZE",10}  STATUS");
            // The status is what the loader of each kind checks (TextGenerator.Check, DetectorCheckpoint.Check): "ok" = the service can load it.
            foreach (var m in models)
                w.WriteLine($"{m.Name.PadRight(width)}  {m.Kind,-12} {Bytes.Format(m.SizeBytes),10}  {m.Status}");
        }
        foreach (var (name, bytes) in partials)
            w.WriteLine($"(interrupted download of {name}: {Bytes.Format(bytes)} so far; 'ganbertbots models pull {name}' resumes it)");
        // The registry's versions (what retraining produced and which one is live), when there is a registry.
        string registry = context.Configuration["Retraining:RegistryRoot"] ?? Path.Combine(dest, "registry");
        if (Directory.Exists(registry))
        {
            w.WriteLine();
            w.WriteLine($"Registry ({Path.GetFullPath(registry)}):");
            RegistryCli.List(CliArgs.Parse(new[] { "--registry", registry }), context);
        }
        return Task.FromResult(0);
    }
}

/// <summary>Human-readable byte counts.</summary>
static class Bytes
{
    public static string Format(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.0} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB",
    };
}
