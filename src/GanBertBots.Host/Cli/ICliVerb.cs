namespace GanBertBots.Host.Cli;

/// <summary>
/// One verb of the host executable (<c>ganbertbots VERB ...</c>). Verbs are found by reflection,
/// so adding a verb is adding a class.
/// </summary>
public interface ICliVerb
{
    /// <summary>The word on the command line, e.g. "generate" or "models".</summary>
    string Name { get; }
    /// <summary>One line for the verb list.</summary>
    string Summary { get; }
    /// <summary>Full usage text.</summary>
    string Usage { get; }
    /// <returns>Process exit code.</returns>
    Task<int> RunAsync(IReadOnlyList<string> args, CliContext context);
}

/// <summary>What a verb gets besides its arguments.</summary>
public sealed class CliContext
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public required CancellationToken Cancellation { get; init; }
    /// <summary>Configuration (appsettings.json, environment, command-line overrides).</summary>
    public required Microsoft.Extensions.Configuration.IConfiguration Configuration { get; init; }
    /// <summary>True when stdout is a terminal (progress bars), false when redirected (plain lines).</summary>
    public bool Interactive { get; init; }
}
