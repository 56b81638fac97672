namespace GanBertBots.Host.Cli;

/// <summary><c>models promote NAME VERSION</c>: make a registered version live.</summary>
public sealed class ModelsPromoteCommand : IModelsCommand
{
    public string Name => "promote";
    public string Summary => "Make a registered version live (checked: checksums, loads)";
    public string Usage => "  ganbertbots " + RegistryCli.PromoteUsage;
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(RegistryCli.Promote(CliArgs.Parse(args), context));
}
