using System.Reflection;

namespace GanBertBots.Host.Cli;

/// <summary>One benchmark under <c>bench NAME</c>; found by reflection like the verbs.</summary>
public interface IBenchmark
{
    string Name { get; }
    string Summary { get; }
    Task<int> RunAsync(CliArgs args, CliContext context);
}

/// <summary><c>bench NAME [options]</c>: speed tables with bounds measured in the same run.</summary>
public sealed class BenchVerb : ICliVerb
{
    static readonly IReadOnlyDictionary<string, IBenchmark> Benchmarks = Assembly.GetExecutingAssembly().GetTypes()
        .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
        .ToDictionary(b => b.Name, StringComparer.OrdinalIgnoreCase);

    public string Name => "bench";
    public string Summary => "benchmarks: " + string.Join(", ", Benchmarks.Keys.Order());
    public string Usage => "Usage: ganbertbots bench NAME [options]\n" +
                           string.Join("\n", Benchmarks.Values.OrderBy(b => b.Name).Select(b => $"  {b.Name,-10} {b.Summary}"));

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        if (args.Count == 0 || !Benchmarks.TryGetValue(args[0], out var bench))
            throw new CliUsageException(args.Count == 0 ? "which benchmark?" : $"unknown benchmark '{args[0]}'");
        return bench.RunAsync(CliArgs.Parse(args.Skip(1).ToArray()), context);
    }
}
