using GanBertBots.Conversation;
using GanBertBots.Training.Rounds;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Host.Retraining;

/// <summary>
/// Step 6 of a round in the service: the report goes to the log (Markdown, as before) and to the moderators' chats
/// through the adapters (<see cref="ModeratorAnnouncer"/>): the plain-text summary, split to each platform's message
/// length, then the plots as images. A chat that cannot be reached is logged and skipped; nothing here fails the round.
/// Training knows nothing of chats, and the core nothing of rounds: this class is where the two meet.
/// </summary>
public sealed class ModeratorRoundNotifier(ModeratorAnnouncer announcer, ILogger<ModeratorRoundNotifier>? log = null,
    GanBertBots.Host.Observability.ServiceMetrics? metrics = null) : IRoundNotifier
{
    readonly ILogger _log = (ILogger?)log ?? NullLogger.Instance;

    /// <summary>Longest time spent posting one report (all chats together; 429 waits and pacing included).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    public async Task RoundFinishedAsync(RoundReport report, CancellationToken cancellation)
    {
        _log.LogInformation("{Report}", report.ToMarkdown());
        metrics?.RoundFinished(report.Outcome.ToString().ToLowerInvariant());
        var announcement = ToAnnouncement(report);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(Timeout);
        try
        {
            await announcer.AnnounceAsync(announcement, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            _log.LogError("Posting the report of round {Round} to the moderators took longer than {Timeout}; stopped", report.RoundId, Timeout);
        }
    }

    /// <summary>The report's chat text and its plots read from disk; a plot that cannot be read is named in the text.</summary>
    public Announcement ToAnnouncement(RoundReport report)
    {
        var images = new List<ReplyImage>();
        var unreadable = new List<string>();
        foreach (string plot in report.Plots)
        {
            try
            {
                images.Add(new ReplyImage(File.ReadAllBytes(plot), Path.GetFileName(plot)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.LogWarning("Plot {Plot} of round {Round} could not be read: {Error}", plot, report.RoundId, e.Message);
                unreadable.Add($"{Path.GetFileName(plot)} ({e.Message})");
            }
        }
        string text = report.ToChatText();
        if (unreadable.Count > 0) text += "\nPlots that could not be read: " + string.Join("; ", unreadable);
        return new Announcement(text, images);
    }
}

/// <summary>Composition of the round reports to moderators.</summary>
public static class RoundReportServices
{
    /// <summary>
    /// Makes <see cref="ModeratorRoundNotifier"/> the round's <see cref="IRoundNotifier"/> (before or after
    /// <c>AddRetraining</c>, whose logging default it replaces), posting through every registered
    /// <see cref="IChatDirectory"/>, looked up per report (see <see cref="ModeratorAnnouncer"/> for why not at construction).
    /// Needs <see cref="BotOptions"/> registered.
    /// </summary>
    public static IServiceCollection AddRoundReportsToModerators(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new ModeratorAnnouncer(() => sp.GetServices<IChatDirectory>(), sp.GetRequiredService<BotOptions>(),
            sp.GetService<ILogger<ModeratorAnnouncer>>()));
        services.RemoveAll<IRoundNotifier>();
        services.AddSingleton<IRoundNotifier>(sp => new ModeratorRoundNotifier(sp.GetRequiredService<ModeratorAnnouncer>(),
            sp.GetService<ILogger<ModeratorRoundNotifier>>(), sp.GetService<GanBertBots.Host.Observability.ServiceMetrics>()));
        return services;
    }
}
