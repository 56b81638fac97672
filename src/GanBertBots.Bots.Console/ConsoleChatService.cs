using GanBertBots.Conversation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GanBertBots.Bots.Console;

/// <summary>Runs the <see cref="ConsoleChat"/> on the terminal as a hosted service; the application stops when the input ends.</summary>
public sealed class ConsoleChatService(ConsoleChat chat, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // let the host finish starting before the prompt appears
        try
        {
            await chat.RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        lifetime.StopApplication();
    }
}

/// <summary>Composition of the console chat for the generic host.</summary>
public static class ConsoleChatServices
{
    /// <summary>Adds the console chat on the terminal (standard input and output) and its <see cref="IChatDirectory"/>.
    /// The host must have registered the conversation core as <see cref="IConversation"/>.</summary>
    public static IServiceCollection AddConsoleChat(this IServiceCollection services)
    {
        services.AddSingleton(sp => new ConsoleChat(sp.GetRequiredService<IConversation>(), System.Console.In, System.Console.Out));
        services.AddSingleton<IChatDirectory>(sp => sp.GetRequiredService<ConsoleChat>());
        services.AddHostedService<ConsoleChatService>();
        return services;
    }
}
