using GanBertBots.Host.Bench;

namespace GanBertBots.Host.Cli;

/// <summary><c>bench NAME</c>: runs one of the benchmarks (classes implementing <see cref="IBenchmark"/>).</summary>
public sealed class BenchVerb : ICliVerb
{
    static readonly IReadOnlyDictionary<string, IBenchmark> Benchmarks = typeof(BenchVerb).Assembly.GetTypes()
        .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
        .ToDictionary(b => b.Name, StringComparer.OrdinalIgnoreCase);

    public string Name => "bench";
    public string Summary => "Benchmarks: " + string.Join(", ", Benchmarks.Keys.Order());
    public string Usage => "Usage: ganbertbots bench NAME [options]\n" +
        string.Join("\n", Benchmarks.Values.OrderBy(b => b.Name).Select(b => $"  {b.Name,-10} {b.Summary}\n{Indent(b.Usage)}"));

    static string Indent(string s) => string.Join("\n", s.Split('\n').Select(l => "      " + l));

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        if (args.Count == 0) throw new CliUsageException("name a benchmark: " + string.Join(", ", Benchmarks.Keys.Order()));
        if (!Benchmarks.TryGetValue(args[0], out var bench))
            throw new CliUsageException($"unknown benchmark '{args[0]}' (known: {string.Join(", ", Benchmarks.Keys.Order())})");
        return bench.RunAsync(CliArgs.Parse(args.Skip(1).ToList(), ["json", "quick", .. bench.Flags]), context);
    }
}
