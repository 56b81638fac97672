using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Host.Cli;

/// <summary>Dispatches <c>ganbertbots VERB ...</c> to the verb classes of this assembly.</summary>
public static class CliApp
{
    public static IReadOnlyDictionary<string, ICliVerb> Verbs { get; } = typeof(CliApp).Assembly.GetTypes()
        .Where(t => typeof(ICliVerb).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (ICliVerb)Activator.CreateInstance(t)!)
        .ToDictionary(v => v.Name, StringComparer.OrdinalIgnoreCase);

    public static IConfiguration BuildConfiguration(string? contentRoot = null) =>
        new ConfigurationBuilder()
            .SetBasePath(contentRoot ?? AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables("GANBERTBOTS_")
            .AddEnvironmentVariables()
            .Build();

    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null,
        IConfiguration? configuration = null, CancellationToken cancellation = default)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        string verbName = args.Length == 0 ? "run" : args[0];
        if (verbName is "-h" or "--help" or "help")
        {
            PrintVerbs(stdout);
            return 0;
        }
        if (!Verbs.TryGetValue(verbName, out var verb))
        {
            stderr.WriteLine($"Unknown verb '{verbName}'.");
            PrintVerbs(stderr);
            return 2;
        }
        var rest = args.Skip(1).ToArray();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            stdout.WriteLine(verb.Usage);
            return 0;
        }
        var context = new CliContext
        {
            Out = stdout,
            Error = stderr,
            Cancellation = cancellation,
            Configuration = configuration ?? BuildConfiguration(),
            Interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected,
        };
        try
        {
            return await verb.RunAsync(rest, context);
        }
        catch (CliUsageException e)
        {
            stderr.WriteLine($"{verb.Name}: {e.Message}");
            stderr.WriteLine(verb.Usage);
            return 2;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            stderr.WriteLine($"{verb.Name}: cancelled");
            return 130;
        }
        catch (GanBertBots.Models.UserFacingException e)
        {
            stderr.WriteLine($"{verb.Name}: {e.Message}");
            return 1;
        }
    }

    static void PrintVerbs(TextWriter w)
    {
        w.WriteLine("Usage: ganbertbots VERB [options]   (ganbertbots VERB --help for details)");
        w.WriteLine();
        foreach (var v in Verbs.Values.OrderBy(v => v.Name))
            w.WriteLine($"  {v.Name,-16} {v.Summary}");
    }
}
