using GanBertBots.Training.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Training.Rounds;

/// <summary>
/// Keeps the running service on the registry's live versions: <see cref="SyncAsync"/> hot-swaps every model whose live
/// version differs from the one this process has loaded. Called right after a round or a moderator's promotion, and
/// every <c>Retraining:FollowInterval</c> by <see cref="LiveModelFollower"/>, so a promotion made elsewhere (the CLI, the
/// replica that ran the round) reaches this process too. A swap that fails is logged and retried at the next sync.
/// </summary>
public sealed class LiveModelSync
{
    static readonly string[] Names = [ModelNames.Detector, ModelNames.Generator];
    readonly ModelRegistry _registry;
    readonly IModelHotSwap _hotSwap;
    readonly ILogger _log;
    readonly SemaphoreSlim _gate = new(1, 1);
    readonly Dictionary<string, string?> _loaded = new();

    /// <summary>
    /// With <paramref name="liveLoadedAtStart"/> (the CLI, where nothing is served) the versions live at construction count
    /// as loaded; without it nothing counts as loaded, and the first <see cref="SyncAsync"/> loads every live version
    /// (the service's start, so that it serves what the registry says, not what it assumes).
    /// </summary>
    public LiveModelSync(ModelRegistry registry, IModelHotSwap hotSwap, ILogger<LiveModelSync>? log = null, bool liveLoadedAtStart = true)
    {
        _registry = registry;
        _hotSwap = hotSwap;
        _log = log ?? NullLogger<LiveModelSync>.Instance;
        foreach (string name in Names) _loaded[name] = liveLoadedAtStart ? TryLive(name)?.Version : null;
    }

    /// <summary>The version of each model this process serves, as far as this class knows.</summary>
    public string? Loaded(string name)
    {
        lock (_loaded) return _loaded.GetValueOrDefault(name);
    }

    /// <summary>Swaps what changed; returns the models swapped ("generator v0004").</summary>
    public async Task<IReadOnlyList<string>> SyncAsync(CancellationToken cancellation = default)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            var swapped = new List<string>();
            foreach (string name in Names)
            {
                var live = TryLive(name);
                if (live is null || live.Version == Loaded(name)) continue;
                try
                {
                    await _hotSwap.SwapAsync(name, live.Version, live.Directory, cancellation);
                    lock (_loaded) _loaded[name] = live.Version;
                    swapped.Add($"{name} {live.Version}");
                    _log.LogInformation("Hot-swapped {Model} to {Version}", name, live.Version);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _log.LogError(e, "Hot swap of {Model} {Version} failed; the service keeps its previous model and tries again", name, live.Version);
                }
            }
            return swapped;
        }
        finally { _gate.Release(); }
    }

    RegisteredVersion? TryLive(string name)
    {
        try { return _registry.Live(name); }
        catch (RegistryException e)
        {
            _log.LogError(e, "Cannot read the live {Model} from the registry", name);
            return null;
        }
    }
}

/// <summary>Calls <see cref="LiveModelSync.SyncAsync"/> every <c>Retraining:FollowInterval</c>.</summary>
public sealed class LiveModelFollower(LiveModelSync sync, Scheduling.RetrainingOptions options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.FollowInterval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(options.FollowInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await sync.SyncAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}
