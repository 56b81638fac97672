using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Telegram;
using GanBertBots.Host.Composition;
using GanBertBots.Host.Observability;
using GanBertBots.Host.Serving;
using GanBertBots.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GanBertBots.Host.Cli;

/// <summary>
/// <c>run</c> (also what <c>ganbertbots</c> does with no arguments): the bot service, composed by
/// <see cref="GanBertBotsServices.AddGanBertBots"/>. With a bot adapter (or <c>Host:Urls</c> set) it is one ASP.NET Core
/// application whose one listener serves health, metrics and the webhooks; a console-only run has no listener.
/// </summary>
public sealed class RunVerb : ICliVerb
{
    /// <summary>How long a stop waits for requests in flight and the hosted services before the process exits.</summary>
    static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(8);

    public string Name => "run";
    public string Summary => "Run the bot service (Telegram and/or Discord when configured; otherwise a console chat)";
    public string Usage => """
        Usage: ganbertbots run [--console]
          --console   open the console chat even when a bot token is configured
        Settings that matter at start (appsettings.json or environment, e.g. Telegram__BotToken):
          Models:Generator, Models:Detector   checkpoint folders served when the registry has no live version
                                              (default models/gpt2, models/detector)
          Retraining:Enabled                  nightly adversarial retraining, /retrain, /promote, /rollback (default true)
          Retraining:Store                    Quartz store: memory, sqlite (default), postgres (clustered replicas)
          Storage:Provider                    label store: sqlite (default, under Storage:DataDirectory) or postgres
          Storage:ConnectionString            required for postgres
          Host:Urls                           the HTTP listener for /healthz, /readyz, /metrics and webhooks
                                              (default http://127.0.0.1:8080 when a bot adapter runs; console-only runs
                                              listen only when it is set)
          Telegram:BotToken, Telegram:Mode (polling|webhook), Telegram:WebhookSecret, Telegram:ApiBaseUrl
          Discord:Enabled, Discord:Mode (gateway|http), Discord:BotToken, Discord:ApplicationId, Discord:PublicKey
          Bots:Moderators (e.g. ["telegram:12345"]), Bots:CallbackSecret, Bots:MessagesPerMinute, Bots:MaxInputChars
          Inference:Device (auto|cpu|cuda), Inference:Generation/Detection batching
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "console");
        bool forceConsole = a.Flag("console");
        a.RejectUnknown();
        var shape = ServiceShape.From(context.Configuration, forceConsole);

        IHostApplicationBuilder builder = shape.Listens
            ? WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory })
            : Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory,
            });
        // One configuration: the CLI's (appsettings.json beside the executable and in the working folder, environment).
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(context.Configuration);
        ConfigureLogging(builder, shape);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        try
        {
            builder.Services.AddGanBertBots(context.Configuration, shape);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            context.Error.WriteLine($"run: configuration: {e.Message}");
            return 1;
        }
        builder.Services.AddServiceObservability(shape);

        IHost host;
        WebApplication? app = null;
        if (builder is WebApplicationBuilder web)
        {
            web.WebHost.UseUrls(shape.Urls!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            host = app = web.Build();
        }
        else host = ((HostApplicationBuilder)builder).Build();

        using (host)
        {
            var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("GanBertBots");
            WarnAboutRetiredSettings(context.Configuration, log);
            try
            {
                // Every bound section first, so that a bad value is one line, not a failed start's stack trace.
                host.Services.GetService<IStartupValidator>()?.Validate();
                if (app is not null) MapEndpoints(app, shape);
                await host.Services.GetRequiredService<LabelStoreStartup>().StartAsync(context.Cancellation); // a dead database: one line
                await host.StartAsync(context.Cancellation);
            }
            catch (Exception e) when (StartFailure(e) is { } reason)
            {
                // Nothing started needs stopping: the services that did start are disposed with the host.
                context.Error.WriteLine($"run: {reason}");
                return 1;
            }
            log.LogInformation("Serving with {Store}; adapters: {Adapters}; listening: {Urls}",
                StorageCli.Describe(host.Services.GetRequiredService<StorageOptions>()), string.Join(", ", shape.Adapters), shape.Urls ?? "no");
            await host.WaitForShutdownAsync(context.Cancellation);
            await StopQuietlyAsync(host);
        }
        return 0;
    }

    static void ConfigureLogging(IHostApplicationBuilder builder, ServiceShape shape)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        // Logs go to stderr; in the console chat only warnings and errors, so they do not drown the conversation.
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (shape.Console) builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Kestrel's and ASP.NET Core's request logs are noise at Information.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
    }

    static void MapEndpoints(WebApplication app, ServiceShape shape)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ServiceHealth.Live) });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains(ServiceHealth.Ready),
            // Degraded (a model not installed) still takes traffic: everything else answers.
            ResultStatusCodes = { [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded] = 200 },
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        if (shape.Telegram && app.Services.GetRequiredService<TelegramOptions>() is { IsWebhook: true } telegram)
            app.MapTelegramWebhook(app.Services.GetRequiredService<TelegramBotService>(), telegram);
        if (shape.Discord && app.Services.GetRequiredService<DiscordOptions>().Mode == DiscordMode.Http)
            DiscordHttpInteractionsService.MapDiscordInteractionsEndpoint(app);
    }

    /// <summary>Settings this version no longer reads (or reads for the last time), and what replaced them.</summary>
    static readonly (string Key, string Instead)[] Retired =
    [
        ("Telegram:WebhookListenUrl", "the webhook is served on Host:Urls"),
        ("Discord:HttpListenUrl", "the interactions endpoint is served on Host:Urls"),
        (ModelsOptions.RetiredDetectorKey, "it still sets the served detector's folder for now; rename it to Models:Detector"),
    ];

    static void WarnAboutRetiredSettings(IConfiguration configuration, ILogger log)
    {
        foreach (var (key, instead) in Retired)
            if (!string.IsNullOrWhiteSpace(configuration[key]))
                log.LogWarning("{Key} is no longer read: {Instead}", key, instead);
    }

    /// <summary>The one line to print when the start failed for a reason the operator can fix; null for a bug.</summary>
    static string? StartFailure(Exception e) => e switch
    {
        OptionsValidationException o => "configuration: " + string.Join("; ", o.Failures),
        StorageException s => "label store: " + s.Message,
        IOException io when io.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
            => $"Host:Urls: the address is in use ({io.Message})",
        ArgumentException or InvalidOperationException => "configuration: " + e.Message,
        _ => null,
    };

    static async Task StopQuietlyAsync(IHost host)
    {
        using var timeout = new CancellationTokenSource(ShutdownTimeout);
        try { await host.StopAsync(timeout.Token); }
        catch (Exception e) when (e is OperationCanceledException or AggregateException or ObjectDisposedException) { }
    }
}
