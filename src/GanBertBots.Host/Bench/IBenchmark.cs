using GanBertBots.Host.Cli;

namespace GanBertBots.Host.Bench;

/// <summary>
/// One benchmark of <c>ganbertbots bench NAME</c>. Found by reflection, like verbs. A benchmark
/// prints a table whose figures are set against bounds measured on this machine in the same run
/// (<see cref="MachineBounds"/>), since absolute numbers on shared machines say little.
/// </summary>
public interface IBenchmark
{
    string Name { get; }
    string Summary { get; }
    string Usage { get; }
    /// <summary>Its options that take no value (besides --json and --quick, which every benchmark has).</summary>
    IReadOnlyList<string> Flags => [];
    Task<int> RunAsync(CliArgs args, CliContext context);
}
