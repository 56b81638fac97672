namespace GanBertBots.Host.Cli;

/// <summary><c>models register NAME DIR</c>: copy a checkpoint folder into the registry as the next version.</summary>
public sealed class ModelsRegisterCommand : IModelsCommand
{
    public string Name => "register";
    public string Summary => "Register a checkpoint folder as a model's next version (checked: it loads); --promote makes it live";
    public string Usage => "  ganbertbots " + RegistryCli.RegisterUsage;
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(RegistryCli.Register(CliArgs.Parse(args, "promote"), context));
}
