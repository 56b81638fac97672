using System.Diagnostics;
using GanBertBots.Host.Composition;
using GanBertBots.Storage;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Host.Cli;

/// <summary>
/// <c>retrain --here [--rounds N] [--report DIR]</c>: adversarial rounds in this process, one after another, each on the
/// models the previous one promoted. The same wiring as the service (<see cref="BuildServices"/>) without Quartz: the label
/// store from <c>Storage</c>, the registry, the real steps. A row per round as it ends, then the whole table, also written to
/// <c>rounds.md</c> and <c>rounds.json</c> in the report folder (default: the registry root).
/// </summary>
public static class RetrainHere
{
    public static async Task<int> RunAsync(CliArgs args, CliContext context)
    {
        int rounds = args.GetInt("rounds", 1);
        string? reportOption = args.Get("report");
        args.RejectUnknown();
        if (args.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{args.Positional[0]}'");
        if (rounds < 1) throw new CliUsageException("--rounds must be at least 1");

        return await StorageCli.WithStoreAsync(context, "retrain", async (store, _) =>
        {
            ServiceProvider services;
            try { services = BuildServices(context.Configuration, store); }
            catch (ArgumentException e)
            {
                context.Error.WriteLine($"retrain: configuration: {e.Message}");
                return 1;
            }
            await using var _services = services;
            var round = services.GetRequiredService<AdversarialRound>();
            var options = services.GetRequiredService<RetrainingOptions>();
            string reportDir = Path.GetFullPath(reportOption ?? options.RegistryRoot);
            string by = "cli-here:" + Environment.UserName;

            var summaries = new List<RoundSummary>();
            context.Out.WriteLine(RoundSummary.MarkdownHeader);
            for (int i = 1; i <= rounds; i++)
            {
                var clock = Stopwatch.StartNew();
                var report = await round.RunAsync(by, context.Cancellation);
                var summary = RoundSummary.From(i, report, clock.Elapsed);
                summaries.Add(summary);
                context.Out.WriteLine(summary.MarkdownRow());
                RoundSummary.Write(reportDir, summaries);
                if (report.Outcome == RoundOutcome.Failed)
                {
                    context.Error.WriteLine($"retrain: round {i} failed, so the remaining rounds are not run: {report.Reason}");
                    break;
                }
            }
            // The table was printed row by row as the rounds ended: printed once, not again here.
            context.Out.WriteLine();
            context.Out.WriteLine($"Written to {Path.Combine(reportDir, "rounds.md")} and rounds.json; each round's report is in the candidates' report/ folders.");
            return summaries[^1].Outcome == RoundOutcome.Failed ? 1 : 0;
        });
    }

    /// <summary>
    /// The service's composition (<see cref="GanBertBotsServices.AddGanBertBots"/>, no adapters, retraining on) on
    /// <paramref name="store"/>, with nothing served in this process: a promotion is only written to the registry (a
    /// running service follows it). Its Quartz scheduler is registered but never started. Round progress is logged to
    /// stderr. Throws <see cref="ArgumentException"/> for a bad <c>Retraining</c> key.
    /// </summary>
    public static ServiceProvider BuildServices(IConfiguration configuration, ILabelStore store)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging(logging =>
        {
            logging.AddConfiguration(configuration.GetSection("Logging"));
            logging.AddSimpleConsole(o => o.SingleLine = true);
            logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });
        services.AddGanBertBots(configuration, ServiceShape.Tool);
        services.AddSingleton(store);
        services.AddSingleton<IModelHotSwap, RegistryOnlyHotSwap>();
        return services.BuildServiceProvider();
    }
}

/// <summary>In the CLI nothing is served: a promotion is in the registry, and a running service follows it.</summary>
sealed class RegistryOnlyHotSwap(ILogger<RegistryOnlyHotSwap> log) : IModelHotSwap
{
    public Task SwapAsync(string modelName, string version, string directory, CancellationToken cancellation)
    {
        log.LogInformation("{Model} {Version} is live in the registry; a running service swaps it in within Retraining:FollowInterval",
            modelName, version);
        return Task.CompletedTask;
    }
}
