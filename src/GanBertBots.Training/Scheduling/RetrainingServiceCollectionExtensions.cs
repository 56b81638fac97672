using GanBertBots.Models.GanBert;
using GanBertBots.Storage;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Quartz;

namespace GanBertBots.Training.Scheduling;

/// <summary>Wires the registry, the round and the Quartz schedule into a host.</summary>
public static class RetrainingServiceCollectionExtensions
{
    public static readonly TriggerKey NightlyKey = new("nightly", "retraining");

    /// <summary>
    /// Registers, from the <c>Retraining</c> section: <see cref="ModelRegistry"/> (with a <see cref="CheckpointValidator"/>
    /// if one is registered), <see cref="AdversarialRound"/>, <see cref="RetrainingTrigger"/>, <see cref="RetrainingJob"/> on the
    /// configured cron, the Quartz store (memory, sqlite with our schema, or clustered postgres) and Quartz's hosted service.
    /// The host registers the steps: <see cref="IGeneratorSampler"/>, <see cref="IDetectorTrainer"/>, <see cref="IGeneratorTrainer"/>,
    /// and replaces <see cref="IModelHotSwap"/> and <see cref="IRoundNotifier"/> (the defaults log). <see cref="IRoundDataSource"/>
    /// defaults to the label store (<see cref="ILabelStore"/> must be registered). <see cref="AdversarialRoundServiceCollectionExtensions.AddAdversarialRoundSteps"/>,
    /// called first, registers the real steps and the corpus-aware data source.
    /// </summary>
    public static IServiceCollection AddRetraining(this IServiceCollection services, IConfiguration configuration,
        Action<RetrainingOptions>? configure = null)
    {
        var options = RetrainingOptions.From(configuration, configure);
        services.AddSingleton(options);

        services.TryAddSingleton(sp => new ModelRegistry(options.RegistryRoot,
            sp.GetService<CheckpointValidator>() ?? CheckpointValidators.Default(sp.GetService<BaseEncoderFolders>()?.Directories).Validator));
        services.TryAddSingleton<IRoundDataSource>(sp =>
            new LabelStoreRoundData(sp.GetRequiredService<ILabelStore>(), options.HeldOutFraction, options.MaxUnlabelled));
        services.TryAddSingleton<StepsNotConfigured>();
        services.TryAddSingleton<IGeneratorSampler>(sp => sp.GetRequiredService<StepsNotConfigured>());
        services.TryAddSingleton<IDetectorTrainer>(sp => sp.GetRequiredService<StepsNotConfigured>());
        services.TryAddSingleton<IGeneratorTrainer>(sp => sp.GetRequiredService<StepsNotConfigured>());
        services.TryAddSingleton<IModelHotSwap, LoggingHotSwap>();
        services.TryAddSingleton<IRoundNotifier, LoggingRoundNotifier>();
        services.TryAddSingleton(sp => new LiveModelSync(sp.GetRequiredService<ModelRegistry>(), sp.GetRequiredService<IModelHotSwap>(),
            sp.GetService<ILogger<LiveModelSync>>()));
        services.TryAddSingleton(sp => new AdversarialRound(
            sp.GetRequiredService<ModelRegistry>(), options, sp.GetRequiredService<IRoundDataSource>(),
            sp.GetRequiredService<IGeneratorSampler>(), sp.GetRequiredService<IDetectorTrainer>(),
            sp.GetRequiredService<IGeneratorTrainer>(), sp.GetRequiredService<LiveModelSync>(),
            sp.GetRequiredService<IRoundNotifier>(), sp.GetService<ILogger<AdversarialRound>>()));
        services.TryAddSingleton<RetrainingTrigger>();
        services.TryAddSingleton<RetrainingCommands>();

        // The schema first: hosted services start in registration order, and Quartz validates the tables when it starts.
        services.AddHostedService<QuartzSchemaInstaller>();
        services.AddQuartz(q => ConfigureScheduler(q, options));
        services.AddHostedService<LiveModelFollower>();
        services.AddQuartzHostedService(q =>
        {
            q.WaitForJobsToComplete = true; // together with ShutdownJobInterruption: cancel the round, then wait for it to unwind
        });
        return services;
    }

    /// <summary>The scheduler: its store, the job and the nightly trigger.</summary>
    public static void ConfigureScheduler(IQuartzBuilder q, RetrainingOptions options)
    {
        ConfigureStore(q, options);
        q.AddJob<RetrainingJob>(job => job.WithIdentity(RetrainingJob.Key).StoreDurably().WithDescription("adversarial retraining round"));
        if (options.Enabled)
        {
            var zone = string.IsNullOrWhiteSpace(options.TimeZone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone);
            q.AddTrigger(trigger => trigger
                .WithIdentity(NightlyKey)
                .ForJob(RetrainingJob.Key)
                .WithDescription("nightly adversarial round")
                .WithCronSchedule(options.Cron, cron => cron
                    .InTimeZone(zone)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)));
        }
    }

    /// <summary>
    /// Only the scheduler's name and store: what the CLI's <c>retrain --now</c> needs to put a trigger into the store a
    /// running service reads (it never starts this scheduler, and runs no job itself).
    /// </summary>
    public static void ConfigureStore(IQuartzBuilder q, RetrainingOptions options)
    {
        q.ConfigureScheduler(s =>
        {
            s.InstanceName = options.SchedulerName;
            s.ShutdownJobInterruption = ShutdownJobInterruption.Always;
            if (!string.IsNullOrWhiteSpace(options.NodeId)) s.InstanceId = options.NodeId;
        });
        switch (options.Store.ToLowerInvariant())
        {
            case "memory":
                q.UseInMemoryStore();
                break;
            case "sqlite":
                q.UsePersistentStore(store =>
                {
                    store.UseSqlite(options.EffectiveConnectionString);
                    store.UseSystemTextJsonSerializer();
                    store.ConfigureStore(o => o.TablePrefix = options.TablePrefix);
                });
                break;
            default:
                q.UsePersistentStore(store =>
                {
                    store.UsePostgres(options.EffectiveConnectionString);
                    store.UseSystemTextJsonSerializer();
                    store.ConfigureStore(o => o.TablePrefix = options.TablePrefix.ToLowerInvariant());
                    store.UseClustering(c =>
                    {
                        c.CheckinInterval = options.ClusterCheckinInterval;
                        c.CheckinMisfireThreshold = options.ClusterCheckinInterval * 2;
                    });
                });
                break;
        }
    }
}
