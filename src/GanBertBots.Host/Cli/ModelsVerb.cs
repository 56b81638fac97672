namespace GanBertBots.Host.Cli;

/// <summary>
/// <c>ganbertbots models SUBCOMMAND ...</c>: local checkpoints. Subcommands are the classes implementing
/// <see cref="IModelsCommand"/> in this assembly, so adding one (promote, rollback, ...) is adding a class.
/// </summary>
public sealed class ModelsVerb : ICliVerb
{
    public static IReadOnlyDictionary<string, IModelsCommand> Commands { get; } = typeof(ModelsVerb).Assembly.GetTypes()
        .Where(t => typeof(IModelsCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (IModelsCommand)Activator.CreateInstance(t)!)
        .ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);

    public string Name => "models";
    public string Summary => "Download and list model checkpoints (" + string.Join(", ", Commands.Keys.Order()) + ")";

    public string Usage =>
        "Usage: ganbertbots models SUBCOMMAND [options]\n\n"
        + string.Join("\n\n", Commands.Values.OrderBy(c => c.Name).Select(c => $"{c.Name}: {c.Summary}\n{c.Usage}"));

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        if (args.Count == 0) throw new CliUsageException("which subcommand? (" + string.Join(", ", Commands.Keys.Order()) + ")");
        if (!Commands.TryGetValue(args[0], out var command))
            throw new CliUsageException($"unknown subcommand '{args[0]}' (known: {string.Join(", ", Commands.Keys.Order())})");
        return command.RunAsync(args.Skip(1).ToList(), context);
    }
}

/// <summary>One subcommand of <c>ganbertbots models</c>.</summary>
public interface IModelsCommand
{
    /// <summary>The word after "models", e.g. "pull".</summary>
    string Name { get; }
    string Summary { get; }
    string Usage { get; }
    Task<int> RunAsync(IReadOnlyList<string> args, CliContext context);
}
