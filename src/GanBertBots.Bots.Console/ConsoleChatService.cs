using GanBertBots.Conversation;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Bots.Console;

/// <summary>Runs the <see cref="ConsoleChat"/> on the terminal as a hosted service; the application stops when the input ends.</summary>
public sealed class ConsoleChatService(IConversation conversation, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // let the host finish starting before the prompt appears
        try
        {
            await new ConsoleChat(conversation, System.Console.In, System.Console.Out).RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        lifetime.StopApplication();
    }
}
