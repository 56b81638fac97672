using System.Globalization;
using GanBertBots.Models.GanBert;
using GanBertBots.Training.Detector;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Host.Cli;

/// <summary>
/// <c>models list|promote|rollback</c> on the versioned model registry (Retraining:RegistryRoot, or --registry DIR).
/// Routed from the <c>models</c> verb; each method takes the arguments after the subcommand word.
/// A running service picks up a CLI promotion at restart (or use the moderators' /promote, which hot-swaps).
/// </summary>
public static class RegistryCli
{
    public const string ListUsage = "models list [--registry DIR]   registered versions of each model; * marks the live one";
    public const string PromoteUsage = "models promote NAME VERSION [--registry DIR]   verify the version (checksums, loads) and make it live";
    public const string RollbackUsage = "models rollback NAME [--registry DIR]   make the previously live version live again";
    public const string RegisterUsage = "models register NAME DIR [--promote] [--notes TEXT] [--registry DIR]   copy a checkpoint folder in as NAME's next version\n"
        + "      (checked: it must load; generator = GPT-2, detector = GAN-BERT detector); --promote makes it live at once\n"
        + "      a detector must pass the gate: its held-out macro-F1 (stored by train-detector, or measured on --data FILE, or on\n"
        + "      DIR/heldout.jsonl) above the majority baseline's by more than --margin (Retraining:MinMacroF1OverBaseline, 0.05);\n"
        + "      --force registers one the gate refuses (the reason is printed and kept in the notes)";

    public static int List(CliArgs args, CliContext context)
    {
        var registry = Open(args, context);
        args.RejectUnknown();
        if (args.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{args.Positional[0]}'");
        var models = registry.List();
        if (models.Count == 0)
        {
            context.Out.WriteLine($"no models registered in {registry.Root}");
            return 0;
        }
        context.Out.WriteLine($"{"",1} {"NAME",-12} {"VERSION",-8} {"REGISTERED (UTC)",-17} {"SOURCE",-28} METRICS");
        foreach (var model in models)
            foreach (var v in model.Versions)
            {
                string live = v.Version == model.Live ? "*" : " ";
                string metrics = string.Join(" ", v.Metrics.Where(m => !m.Key.StartsWith("live_", StringComparison.Ordinal))
                    .OrderBy(m => m.Key, StringComparer.Ordinal)
                    .Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key}={m.Value:0.####}")));
                context.Out.WriteLine($"{live} {model.Name,-12} {v.Version,-8} {v.RegisteredAt.UtcDateTime,-17:yyyy-MM-dd HH:mm} {Clip(v.Source, 28),-28} {metrics}");
            }
        return 0;
    }

    public static int Promote(CliArgs args, CliContext context)
    {
        var registry = Open(args, context);
        args.RejectUnknown();
        if (args.Positional.Count != 2) throw new CliUsageException("give NAME and VERSION, e.g. models promote generator v0003");
        return Change(context, "promote", () =>
        {
            string? before = registry.Live(args.Positional[0])?.Version;
            var live = registry.Promote(args.Positional[0], args.Positional[1], By());
            return $"{live.Name}: {before ?? "none"} -> {live.Version} is live";
        });
    }

    public static int Rollback(CliArgs args, CliContext context)
    {
        var registry = Open(args, context);
        args.RejectUnknown();
        if (args.Positional.Count != 1) throw new CliUsageException("give NAME, e.g. models rollback generator");
        return Change(context, "rollback", () =>
        {
            string? before = registry.Live(args.Positional[0])?.Version;
            var live = registry.Rollback(args.Positional[0], By());
            return $"{live.Name}: {before} -> {live.Version} is live (rolled back)";
        });
    }

    /// <summary>
    /// Registers a checkpoint folder (how an operator seeds the registry with the first generator and detector), and with
    /// <c>--promote</c> makes it live. A folder that is missing, empty or does not load is refused and nothing is registered.
    /// </summary>
    public static int Register(CliArgs args, CliContext context)
    {
        var registry = Open(args, context);
        bool promote = args.Flag("promote");
        bool force = args.Flag("force");
        string? notes = args.Get("notes");
        string? data = args.Get("data");
        string textField = args.Get("text-field") ?? "text", labelField = args.Get("label-field") ?? "label";
        double margin = GateMargin(args, context);
        args.RejectUnknown();
        if (args.Positional.Count != 2) throw new CliUsageException("give NAME and DIR, e.g. models register generator models/gpt2");
        string name = args.Positional[0], source = Path.GetFullPath(args.Positional[1]);
        if (name == Training.Rounds.ModelNames.Detector && Directory.Exists(source))
        {
            var gate = GateDetector(source, data, textField, labelField, margin, HubSettings.EncoderFolders(context.Configuration).Directories);
            if (gate is null)
                context.Out.WriteLine($"gate: not checked (no held-out figures in {Path.Combine(source, DetectorCheckpoint.ConfigFile)}, no heldout.jsonl; --data FILE measures them)");
            else if (gate.Passed)
                context.Out.WriteLine($"gate passed: {gate.Describe()}");
            else if (force)
            {
                context.Out.WriteLine($"gate refused, registered because of --force: {gate.Describe()}");
                notes = string.Join("; ", new[] { notes, "registered with --force: gate refused" }.OfType<string>());
            }
            else
            {
                context.Error.WriteLine($"models register: gate refused: {gate.Describe()}. Nothing was registered; --force registers it anyway.");
                return 1;
            }
        }
        else if (data is not null) throw new CliUsageException("--data measures a detector's gate figures; it does not apply to " + name);
        return Change(context, "register", () =>
        {
            var version = registry.Register(name, source, new VersionMetadata { Source = "models register " + source, Notes = notes });
            long bytes = version.Manifest.Sum(f => f.Length);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{name} {version.Version} registered from {source} ({version.Manifest.Count} files, {bytes / 1e6:0.0} MB)");
            if (!promote) return line;
            string? before = registry.Live(name)?.Version;
            registry.Promote(name, version.Version, By());
            return $"{line}\n{name}: {before ?? "none"} -> {version.Version} is live";
        });
    }

    /// <summary>The gate's figures for a detector folder: measured on --data, else stored by train-detector, else measured on DIR/heldout.jsonl.</summary>
    static GateFigures? GateDetector(string directory, string? data, string textField, string labelField, double margin,
        IReadOnlyList<string> encoderDirectories)
    {
        string? file = data ?? (File.Exists(Path.Combine(directory, "heldout.jsonl")) ? Path.Combine(directory, "heldout.jsonl") : null);
        bool loadable = DetectorCheckpoint.Check(directory, encoderDirectories).IsLoadable;
        if (data is null && loadable && GateFigures.Read(DetectorCheckpoint.ReadConfig(directory)) is { } stored)
            return stored.WithMargin(margin);
        if (file is null) return null;
        if (!loadable) return null; // the registry names what is wrong with it
        var rows = DetectorData.Load(file, textField, labelField);
        GanBertDetector loaded;
        try { loaded = GanBertDetector.Load(directory, Models.Runtime.TorchPlacement.Cpu, encoderDirectories: encoderDirectories); }
        catch (Models.UserFacingException) { return null; } // does not load: the registry's check says why
        using var detector = loaded;
        return DetectorGate.Evaluate(detector, rows, Path.GetFileName(file), margin)
            ?? throw new CliUsageException($"{file}: no text has a label among the detector's classes ({string.Join(", ", detector.Classes)})");
    }

    static int Change(CliContext context, string what, Func<string> change)
    {
        try
        {
            context.Out.WriteLine(change());
            return 0;
        }
        catch (RegistryException e)
        {
            context.Error.WriteLine($"models {what}: {e.Message}");
            return 1;
        }
    }

    static ModelRegistry Open(CliArgs args, CliContext context)
    {
        var options = new RetrainingOptions();
        context.Configuration.GetSection(RetrainingOptions.Section).Bind(options);
        string root = args.Get("registry") ?? options.RegistryRoot;
        return new ModelRegistry(root, CheckpointValidators.Default(HubSettings.EncoderFolders(context.Configuration).Directories).Validator);
    }

    /// <summary>The gate's margin: --margin, else Retraining:MinMacroF1OverBaseline, else 0.05; a bad value is named.</summary>
    public static double GateMargin(CliArgs args, CliContext context)
    {
        const string key = RetrainingOptions.Section + ":" + nameof(RetrainingOptions.MinMacroF1OverBaseline);
        double configured = DetectorGate.DefaultMargin;
        if (context.Configuration[key] is { } text &&
            (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out configured) || configured is < -1 or >= 1 || double.IsNaN(configured)))
            throw new CliUsageException($"{key} must be a number at least -1 and below 1 (got '{text}')");
        double margin = args.GetDouble("margin", configured);
        if (margin is < -1 or >= 1 || double.IsNaN(margin)) throw new CliUsageException($"--margin must be at least -1 and below 1 (got {margin})");
        return margin;
    }

    static string By() => "cli:" + Environment.UserName;

    static string Clip(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}

/// <summary>A <c>models</c> subcommand on the registry: its words, and the <see cref="RegistryCli"/> method that runs it.</summary>
/// <param name="flags">Options that take no value (register's --promote).</param>
public abstract class RegistrySubcommand(string name, string summary, string usage, Func<CliArgs, CliContext, int> run, params string[] flags) : IModelsCommand
{
    public string Name => name;
    public string Summary => summary;
    public string Usage => "  ganbertbots " + usage;
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) => Task.FromResult(run(CliArgs.Parse(args, flags), context));
}

/// <summary><c>models promote NAME VERSION</c>: make a registered version live.</summary>
public sealed class ModelsPromoteCommand() : RegistrySubcommand("promote", "Make a registered version live (checked: checksums, loads)", RegistryCli.PromoteUsage, RegistryCli.Promote);

/// <summary><c>models register NAME DIR</c>: copy a checkpoint folder into the registry as the next version.</summary>
public sealed class ModelsRegisterCommand() : RegistrySubcommand("register", "Register a checkpoint folder as a model's next version (checked: it loads); --promote makes it live", RegistryCli.RegisterUsage, RegistryCli.Register, "promote", "force");

/// <summary><c>models rollback NAME</c>: make the previously live version live again.</summary>
public sealed class ModelsRollbackCommand() : RegistrySubcommand("rollback", "Make the previously live version live again", RegistryCli.RollbackUsage, RegistryCli.Rollback);

/// <summary><c>models versions</c>: the registry's versions of each model, the live one marked.</summary>
public sealed class ModelsVersionsCommand() : RegistrySubcommand("versions", "Registered versions of each model (the registry); * marks the live one", RegistryCli.ListUsage.Replace("models list", "models versions"), RegistryCli.List);
