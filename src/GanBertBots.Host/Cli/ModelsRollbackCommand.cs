namespace GanBertBots.Host.Cli;

/// <summary><c>models rollback NAME</c>: make the previously live version live again.</summary>
public sealed class ModelsRollbackCommand : IModelsCommand
{
    public string Name => "rollback";
    public string Summary => "Make the previously live version live again";
    public string Usage => "  ganbertbots " + RegistryCli.RollbackUsage;
    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context) =>
        Task.FromResult(RegistryCli.Rollback(CliArgs.Parse(args), context));
}
