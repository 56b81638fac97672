using GanBertBots.Host.Retraining;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using GanBertBots.Bots.Console;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Telegram;
using GanBertBots.Conversation;
using GanBertBots.Host.Serving;
using GanBertBots.Inference;
using GanBertBots.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Host.Cli;

/// <summary>
/// <c>run</c> (also what <c>ganbertbots</c> does with no arguments): the bot service. Opens the label store, loads the
/// models into the inference service, and starts the adapters that are configured: Telegram when
/// Telegram:BotToken is set; with no bot token at all, a local console chat with the same commands.
/// </summary>
public sealed class RunVerb : ICliVerb
{
    public string Name => "run";
    public string Summary => "Run the bot service (Telegram and/or Discord when configured; otherwise a console chat)";
    public string Usage => """
        Usage: ganbertbots run [--console]
          --console   open the console chat even when a bot token is configured
        Configuration (appsettings.json or environment, e.g. Telegram__BotToken):
          Telegram:BotToken, Telegram:Mode (polling|webhook), Telegram:WebhookSecret, Telegram:ApiBaseUrl
          Discord:Enabled, Discord:Mode (gateway|http), Discord:BotToken, Discord:ApplicationId, Discord:PublicKey,
          Discord:ModeratorRoleIds (see docs/discord.md)
          Bots:Moderators (e.g. ["telegram:12345"]), Bots:CallbackSecret, Bots:MessagesPerMinute, Bots:MaxInputChars
          Models:Generator, Models:Detector (checkpoint folders), Inference:Device, Inference:Generation/Detection batching
          Storage:Provider (sqlite|postgres), Storage:ConnectionString
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "console");
        bool forceConsole = a.Flag("console");
        a.RejectUnknown();

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddConfiguration(context.Configuration);
        var botOptions = Bind<BotOptions>(context.Configuration, BotOptions.Section);
        var inferenceOptions = Bind<InferenceOptions>(context.Configuration, InferenceOptions.Section);
        var modelsOptions = Bind<ModelsOptions>(context.Configuration, ModelsOptions.Section);
        var telegramOptions = Bind<TelegramOptions>(context.Configuration, TelegramOptions.Section);
        var storageOptions = StorageCli.Options(context);
        bool telegram = !string.IsNullOrWhiteSpace(telegramOptions.BotToken);
        bool discord = string.Equals(context.Configuration["Discord:Enabled"], "true", StringComparison.OrdinalIgnoreCase);
        bool console = forceConsole || (!telegram && !discord);

        builder.Logging.AddConfiguration(context.Configuration.GetSection("Logging"));
        // Logs go to stderr; in the console chat only warnings and errors, so they do not drown the conversation.
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (console) builder.Logging.SetMinimumLevel(LogLevel.Warning);

        try
        {
            botOptions.Validate();
            inferenceOptions.Validate();
            if (telegram) telegramOptions.Validate();
        }
        catch (ArgumentException e)
        {
            context.Error.WriteLine($"run: configuration: {e.Message}");
            return 1;
        }
        if (console && !botOptions.Moderators.Contains($"{ConsoleChat.Platform}:{ConsoleChat.LocalUser.UserId}"))
            botOptions.Moderators.Add(ConsoleChat.LocalUser.QualifiedId); // the person at the terminal runs the service

        ILabelStore store;
        try { store = await LabelStore.OpenAsync(storageOptions, cancellation: context.Cancellation); }
        catch (StorageException e)
        {
            context.Error.WriteLine($"run: label store: {e.Message}");
            return 1;
        }
        await using var _store = store;
        using var inference = new InferenceService(inferenceOptions);

        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(inference);
        builder.Services.AddSingleton<IInferenceService>(inference);
        builder.Services.AddSingleton(botOptions);
        if (!string.Equals(context.Configuration["Retraining:Enabled"], "false", StringComparison.OrdinalIgnoreCase))
        {
            // Nightly adversarial retraining; promotions are swapped into the inference service.
            builder.Services.AddSingleton(inferenceOptions);
            builder.Services.AddSingleton<IModelHotSwap, InferenceHotSwap>();
            try
            {
                builder.Services.AddAdversarialRoundSteps(context.Configuration);
                builder.Services.AddRetraining(context.Configuration);
            }
            catch (ArgumentException e)
            {
                context.Error.WriteLine($"run: configuration: {e.Message}");
                return 1;
            }
            builder.Services.AddSingleton<IModelOperations, RetrainingModelOperations>();
            builder.Services.AddRoundReportsToModerators(); // each round's report to Bots:ModeratorChats (else the moderators' private chats)
        }
        builder.Services.TryAddSingleton<IModelOperations, ModelOperationsNotAvailable>();
        builder.Services.AddSingleton<ConversationService>(sp => new ConversationService(sp.GetRequiredService<IInferenceService>(),
            sp.GetRequiredService<ILabelStore>(), botOptions, sp.GetRequiredService<IModelOperations>(),
            sp.GetRequiredService<ILogger<ConversationService>>()));
        builder.Services.AddSingleton<IConversation>(sp => sp.GetRequiredService<ConversationService>());
        if (telegram) builder.Services.AddTelegramBot(telegramOptions);
        if (discord)
        {
            // The adapter checks buttons with the core's own codec (the key that signed them).
            builder.Services.AddSingleton(sp => sp.GetRequiredService<ConversationService>().Codec);
            try { builder.Services.AddDiscordBot(context.Configuration); }
            catch (InvalidOperationException e)
            {
                context.Error.WriteLine($"run: configuration: {e.Message}");
                return 1;
            }
        }
        if (console) builder.Services.AddConsoleChat();

        using var host = builder.Build();
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("GanBertBots");
        await ServedModels.LoadAsync(inference, modelsOptions, inferenceOptions, log);
        log.LogInformation("Serving with {Store}; adapters: {Adapters}", StorageCli.Describe(storageOptions),
            string.Join(", ", new[] { telegram ? "telegram" : null, discord ? "discord" : null, console ? "console" : null }.Where(x => x != null)));
        await host.RunAsync(context.Cancellation);
        return 0;
    }

    static T Bind<T>(IConfiguration configuration, string section) where T : new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }
}
