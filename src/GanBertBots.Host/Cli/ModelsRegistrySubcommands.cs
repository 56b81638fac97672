namespace GanBertBots.Host.Cli;

/// <summary><c>models promote NAME VERSION</c>: make a registered version live.</summary>
public sealed class ModelsPromoteCommand : IModelsCommand
{
    public string Name => "promote";
    public string Summary => "Make a registered version live (checked: checksums, loads)";
    public string Usage => "  ganbertbots " + ModelRegistryCommands.PromoteUsage;
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(ModelRegistryCommands.Promote(CliArgs.Parse(args), context));
}

/// <summary><c>models register NAME DIR</c>: copy a checkpoint folder into the registry as the next version.</summary>
public sealed class ModelsRegisterCommand : IModelsCommand
{
    public string Name => "register";
    public string Summary => "Register a checkpoint folder as a model's next version (checked: it loads); --promote makes it live";
    public string Usage => "  ganbertbots " + ModelRegistryCommands.RegisterUsage;
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(ModelRegistryCommands.Register(CliArgs.Parse(args, "promote"), context));
}

/// <summary><c>models rollback NAME</c>: make the previously live version live again.</summary>
public sealed class ModelsRollbackCommand : IModelsCommand
{
    public string Name => "rollback";
    public string Summary => "Make the previously live version live again";
    public string Usage => "  ganbertbots " + ModelRegistryCommands.RollbackUsage;
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(ModelRegistryCommands.Rollback(CliArgs.Parse(args), context));
}

/// <summary><c>models versions</c>: the registry's versions of each model, the live one marked.</summary>
public sealed class ModelsVersionsCommand : IModelsCommand
{
    public string Name => "versions";
    public string Summary => "Registered versions of each model (the registry); * marks the live one";
    public string Usage => "  ganbertbots " + ModelRegistryCommands.ListUsage.Replace("models list", "models versions");
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(ModelRegistryCommands.List(CliArgs.Parse(args), context));
}
