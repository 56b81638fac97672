using GanBertBots.Bots.Console;
using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Telegram;
using GanBertBots.Conversation;
using GanBertBots.Host.Cli;
using GanBertBots.Host.Retention;
using GanBertBots.Host.Retraining;
using GanBertBots.Host.Serving;
using GanBertBots.Inference;
using GanBertBots.Models.GanBert;
using GanBertBots.Storage;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Host.Composition;

/// <summary>
/// The composition root: the whole bot service from its configuration. <c>run</c> calls it; tests build the same
/// collection. Hosted services start in the order they are added here: the label store's schema, then the models,
/// then retraining (Quartz), then the adapters, so nobody answers before the store and the models are ready.
/// </summary>
public static class GanBertBotsServices
{
    /// <summary>
    /// Adds the service that <paramref name="shape"/> describes. Throws <see cref="ArgumentException"/> or
    /// <see cref="InvalidOperationException"/> for a configuration value the registrations need at once; every
    /// other section is checked when the host starts (<c>ValidateOnStart</c>).
    /// </summary>
    public static IServiceCollection AddGanBertBots(this IServiceCollection services, IConfiguration configuration, ServiceShape shape)
    {
        services.AddValidatedOptions<BotOptions>(BotOptions.Section, o => o.Validate());
        if (shape.Console)
        {
            // The person at the terminal runs the service: they moderate it.
            services.PostConfigure<BotOptions>(o =>
            {
                if (!o.Moderators.Contains(ConsoleChat.LocalUser.QualifiedId)) o.Moderators.Add(ConsoleChat.LocalUser.QualifiedId);
            });
        }
        services.AddValidatedOptions<InferenceOptions>(InferenceOptions.Section, o => o.Validate());
        services.AddValidatedOptions<ModelsOptions>(ModelsOptions.Section, ModelsOptions.Validate);
        if (configuration[ModelsOptions.RetiredDetectorKey] is { Length: > 0 } retired)
            services.PostConfigure<ModelsOptions>(o => o.Detector = retired); // still read; `run` warns that it is deprecated
        services.AddValidatedOptions<StorageOptions>(StorageOptions.Section, o => o.Validate());

        // The label store: made on first use, its schema brought up to date first thing at start.
        services.AddSingleton(sp => LabelStore.Create(sp.GetRequiredService<StorageOptions>()));
        services.AddSingleton<LabelStoreStartup>();
        services.AddHostedService(sp => sp.GetRequiredService<LabelStoreStartup>());
        // Storage:RetentionDays: old unlabelled submitted texts are deleted while the service runs (nothing when 0).
        if (shape.HasAdapters) services.AddHostedService<RetentionPurge>();

        // Adapter detectors' base encoders are also looked for in the models folder (Hub:ModelsDirectory), wherever they load.
        services.AddSingleton(HubSettings.EncoderFolders(configuration));
        // The inference service owns the device; ModelServing owns what it serves.
        services.AddSingleton(sp => new InferenceService(sp.GetRequiredService<InferenceOptions>(), log: sp.GetRequiredService<ILogger<InferenceService>>()));
        services.AddSingleton<IInferenceService>(sp => sp.GetRequiredService<InferenceService>());
        services.AddHostedService(sp => new ModelServing(sp.GetRequiredService<InferenceService>(), sp.GetRequiredService<ModelsOptions>(),
            sp.GetRequiredService<InferenceOptions>(), sp.GetRequiredService<ILogger<ModelServing>>(), sp.GetService<LiveModelSync>(),
            sp.GetRequiredService<BaseEncoderFolders>()));

        // The registry's live versions are swapped into the inference service (promotions here, in the CLI, on another
        // replica). Nothing counts as loaded until ModelServing's start loads them; a tool serves nothing, so there what
        // is live counts as loaded and only later promotions are reported.
        services.AddSingleton<IModelHotSwap, InferenceHotSwap>();
        services.AddSingleton(sp => new LiveModelSync(sp.GetRequiredService<ModelRegistry>(), sp.GetRequiredService<IModelHotSwap>(),
            sp.GetService<ILogger<LiveModelSync>>(), liveLoadedAtStart: !shape.HasAdapters));
        if (shape.Retraining)
        {
            // Nightly adversarial retraining (AddRetraining also registers the registry and the follower).
            services.AddAdversarialRoundSteps(configuration);
            services.AddRetraining(configuration);
            services.AddSingleton<IModelOperations, RetrainingModelOperations>();
            // Each round's report to Bots:ModeratorChats (else the moderators' private chats); a tool has only its log.
            if (shape.HasAdapters) services.AddRoundReportsToModerators();
        }
        else
        {
            // No rounds and no Quartz, but the registry still decides what is served, and /promote and /rollback work on it.
            var retraining = RetrainingOptions.From(configuration);
            services.AddSingleton(retraining);
            services.AddSingleton(sp => new ModelRegistry(retraining.RegistryRoot,
                CheckpointValidators.Default(sp.GetRequiredService<BaseEncoderFolders>().Directories).Validator));
            services.AddHostedService<LiveModelFollower>();
            services.AddSingleton(sp => new RetrainingCommands(sp.GetRequiredService<ModelRegistry>(), trigger: null, sp.GetRequiredService<LiveModelSync>()));
            services.AddSingleton<IModelOperations, RetrainingModelOperations>();
        }

        // The conversation core; its moderator policy hears every platform's moderators (Discord's users and roles too).
        services.AddSingleton(LabelsConfiguration.Read(configuration)); // read now: a bad Labels value stops the start, named
        services.AddSingleton(sp => new ModeratorPolicy(
            sp.GetRequiredService<BotOptions>().Moderators.Concat(DiscordOptions.QualifiedModerators(configuration)),
            DiscordOptions.QualifiedModeratorRoles(configuration)));
        services.AddConversation();

        if (shape.Telegram)
        {
            services.AddValidatedOptions<TelegramOptions>(TelegramOptions.Section, o => o.Validate());
            services.AddTelegramBot();
        }
        if (shape.Discord)
        {
            services.AddDiscordBot(configuration);
        }
        if (shape.Console) services.AddConsoleChat();
        return services;
    }
}
