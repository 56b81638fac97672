namespace GanBertBots.Conversation;

/// <summary>/help: the commands this person may use (the router writes the list from the registered commands).</summary>
public sealed class HelpCommand : ICommand
{
    public string Name => "/help";
    public string? Help => "/help - this list";
    public bool ModeratorOnly => false;

    public Task HandleAsync(CommandContext context, CancellationToken ct) => context.ReplyAsync(context.HelpText, ct);
}
