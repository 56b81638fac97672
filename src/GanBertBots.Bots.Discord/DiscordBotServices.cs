using GanBertBots.Bots.Discord.Gateway;
using GanBertBots.Bots.Discord.Http;
using GanBertBots.Bots.Discord.Interactions;
using GanBertBots.Bots.Discord.Rest;
using GanBertBots.Conversation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GanBertBots.Bots.Discord;

/// <summary>Composition of the Discord adapter for the generic host.</summary>
public static class DiscordBotServices
{
    /// <summary>How long a stop waits for interactions in flight (inside the service's 8 s shutdown budget).</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Adds the Discord adapter when <c>Discord:Enabled</c> is true: the REST client, the interaction handler, the
    /// <see cref="IChatDirectory"/> for posting unprompted (round reports), and either the gateway shards or the HTTP
    /// interactions endpoint (<c>Discord:Mode</c>). The host must already have
    /// registered the conversation core (<c>AddConversation</c>): <see cref="IConversation"/>, <see cref="ButtonCheck"/> and a
    /// <see cref="ModeratorPolicy"/> that knows this section's moderators (<see cref="DiscordOptions.QualifiedModerators"/>).
    /// Telegram and Discord can run in one host: they share only the core.
    /// </summary>
    public static IServiceCollection AddDiscordBot(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(DiscordOptions.Section).Get<DiscordOptions>() ?? new DiscordOptions();
        if (!options.Enabled) return services;
        options.Validate();

        services.AddSingleton(options);
        services.AddHttpClient("discord", http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton(sp => new DiscordRestClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient("discord"), options,
            sp.GetService<ILogger<DiscordRestClient>>()));
        services.AddSingleton(sp => new DiscordCommandCatalog(sp.GetServices<ICommand>(), options.RegisterModelCommands, options.EphemeralVerdicts));
        services.AddSingleton(sp => new DiscordInteractionHandler(sp.GetRequiredService<DiscordRestClient>(), sp.GetRequiredService<IConversation>(),
            sp.GetRequiredService<ButtonCheck>(), sp.GetRequiredService<DiscordCommandCatalog>(), sp.GetRequiredService<ModeratorPolicy>(),
            sp.GetService<ILogger<DiscordInteractionHandler>>()));
        services.AddSingleton<IChatDirectory>(sp => new DiscordChatDirectory(sp.GetRequiredService<DiscordRestClient>(), options));
        if (options.Mode == DiscordMode.Gateway)
        {
            services.AddSingleton<DiscordGatewayService>();
            services.AddHostedService(sp => sp.GetRequiredService<DiscordGatewayService>());
        }
        else services.AddHostedService<DiscordHttpInteractionsService>();
        return services;
    }

    /// <summary>Registers the commands by bulk overwrite; a failure is logged and the bot keeps running with the old set.</summary>
    internal static async Task RegisterCommandsAsync(DiscordOptions options, DiscordRestClient rest, DiscordCommandCatalog catalog, ILogger log, CancellationToken ct)
    {
        if (!options.RegisterCommands) return;
        try
        {
            if (options.CommandGuildId.Length > 0) await rest.BulkOverwriteGuildCommandsAsync(options.CommandGuildId, catalog.ToJson(), ct).ConfigureAwait(false);
            else await rest.BulkOverwriteGlobalCommandsAsync(catalog.ToJson(), ct).ConfigureAwait(false);
            log.LogInformation("Discord: registered {Count} application commands {Where}", catalog.Commands.Count,
                options.CommandGuildId.Length > 0 ? $"in guild {options.CommandGuildId}" : "globally");
        }
        catch (DiscordApiException e)
        {
            log.LogError("Discord: command registration failed, the previous commands stay in place: {Error}", e.Message);
        }
    }
}

/// <summary>
/// Gateway mode: asks <c>GET /gateway/bot</c> for the URL, the recommended shard count and the session start limit,
/// registers the commands, and runs this process's shards (identify concurrency honoured). A fatal close (bad
/// token, shard or intents) stops the host with the documented reason.
/// </summary>
public sealed class DiscordGatewayService(DiscordOptions options, DiscordRestClient rest, DiscordInteractionHandler handler,
    DiscordCommandCatalog catalog, ILoggerFactory logs) : BackgroundService
{
    readonly ILogger _log = logs.CreateLogger<DiscordGatewayService>();
    IReadOnlyList<DiscordGatewayClient> _clients = [];
    IdentifyGate? _identifyGate;

    /// <summary>Whether every shard of this process has had its READY (readiness; a shard resuming keeps its session).</summary>
    public bool AllShardsReady => _clients is { Count: > 0 } clients && clients.All(c => c.Session.SessionId is not null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        GatewayBotInfo info;
        try
        {
            info = await rest.GetGatewayBotAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (DiscordApiException e) when (e.Status == System.Net.HttpStatusCode.Unauthorized)
        {
            throw new InvalidOperationException("Discord refused Discord:BotToken (HTTP 401 on GET /gateway/bot). Copy the token again from the Developer Portal (Bot page).", e);
        }
        string url = options.GatewayUrl.Length > 0 ? options.GatewayUrl : info.Url;
        int count = options.ShardCount ?? Math.Max(1, info.Shards);
        int first = options.ShardId ?? 0;
        int inProcess = options.ShardsInProcess ?? (options.ShardId is null ? count : 1);
        var shards = Enumerable.Range(first, Math.Max(1, Math.Min(inProcess, count - first))).ToArray();

        if (info.SessionStartLimit.Remaining < shards.Length)
        {
            _log.LogError("Discord: only {Remaining} session starts left today for {Shards} shards; waiting {Wait} until the limit resets",
                info.SessionStartLimit.Remaining, shards.Length, info.SessionStartLimit.ResetAfter);
            await Task.Delay(info.SessionStartLimit.ResetAfter, stoppingToken).ConfigureAwait(false);
        }
        await DiscordBotServices.RegisterCommandsAsync(options, rest, catalog, _log, stoppingToken).ConfigureAwait(false);

        var gate = _identifyGate = new IdentifyGate(info.SessionStartLimit.MaxConcurrency, options.IdentifyWindow);
        _log.LogInformation("Discord: running shards [{First}..{Last}] of {Count} on {Url}", shards[0], shards[^1], count, url);
        var clients = shards.Select(id => new DiscordGatewayClient(options, url, id, count, handler.OnGatewayDispatchAsync,
            logs.CreateLogger<DiscordGatewayClient>(), identifyGate: gate)).ToList();
        _clients = clients;
        var runs = clients.Select(c => c.RunAsync(stoppingToken)).ToList();
        try
        {
            // The first shard to fail fatally stops the service (and, by default, the host) with its reason.
            while (runs.Count > 0)
            {
                var done = await Task.WhenAny(runs).ConfigureAwait(false);
                runs.Remove(done);
                await done.ConfigureAwait(false);
            }
        }
        finally
        {
            await handler.DrainAsync(DiscordBotServices.DrainLimit).ConfigureAwait(false);
        }
    }

    /// <summary>The identify gate goes with the service, not with the first shard to end: the others may still identify.</summary>
    public override void Dispose()
    {
        base.Dispose();
        _identifyGate?.Dispose();
    }
}

/// <summary>
/// HTTP mode: Discord POSTs interactions to <c>Discord:HttpPath</c> on the application's one listener (the host maps
/// <see cref="MapDiscordInteractionsEndpoint"/>). This service registers the commands at start and, at stop, lets the
/// interactions in flight finish (up to <see cref="DiscordBotServices.DrainLimit"/>) so that nobody who was answered a "thinking…" is left without an answer.
/// </summary>
public sealed class DiscordHttpInteractionsService(DiscordOptions options, DiscordRestClient rest, DiscordInteractionHandler handler,
    DiscordCommandCatalog catalog, ILoggerFactory logs) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var log = logs.CreateLogger<DiscordHttpInteractionsService>();
        if (options.BotToken.Length > 0) await DiscordBotServices.RegisterCommandsAsync(options, rest, catalog, log, stoppingToken).ConfigureAwait(false);
        log.LogInformation("Discord: interactions endpoint at {Path} on the service's listener (Host:Urls)", options.HttpPath);
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        finally
        {
            await handler.DrainAsync(DiscordBotServices.DrainLimit).ConfigureAwait(false);
        }
    }

    /// <summary>Maps the signed interactions endpoint of HTTP mode onto <paramref name="app"/>.</summary>
    public static IEndpointConventionBuilder MapDiscordInteractionsEndpoint(IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<DiscordOptions>();
        var handler = app.ServiceProvider.GetRequiredService<DiscordInteractionHandler>();
        var log = app.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger<DiscordHttpInteractionsService>();
        var verifier = new InteractionSignatureVerifier(options.PublicKey, options.SignatureMaxAge);
        return app.MapDiscordInteractions(options.HttpPath, handler, verifier, log);
    }
}
