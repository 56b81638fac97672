namespace GanBertBots.Host.Cli;

/// <summary><c>models versions</c>: the registry's versions of each model, the live one marked.</summary>
public sealed class ModelsVersionsCommand : IModelsCommand
{
    public string Name => "versions";
    public string Summary => "Registered versions of each model (the registry); * marks the live one";
    public string Usage => "  ganbertbots " + RegistryCli.ListUsage.Replace("models list", "models versions");
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(RegistryCli.List(CliArgs.Parse(args), context));
}
