using System.Collections.Concurrent;
using System.Text.Json;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace GanBertBots.Tests.Retraining;

/// <summary>
/// A tiny stand-in checkpoint: config.json (must name a model_type and a generation number) and weights.bin (non-empty).
/// <see cref="Validate"/> is the registry's validator for it: it "loads" the checkpoint and throws when it would not.
/// </summary>
static class FakeCheckpoint
{
    public static void Write(string directory, int generation, string? weights = null)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), $"{{\"model_type\":\"fake\",\"generation\":{generation}}}");
        File.WriteAllText(Path.Combine(directory, "weights.bin"), weights ?? $"weights of generation {generation}");
    }

    public static int Generation(string directory)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "config.json")));
        return doc.RootElement.GetProperty("generation").GetInt32();
    }

    public static readonly CheckpointValidator Validate = (name, directory) =>
    {
        string config = Path.Combine(directory, "config.json");
        if (!File.Exists(config)) throw new FileNotFoundException("config.json is missing");
        using (var doc = JsonDocument.Parse(File.ReadAllText(config)))
        {
            if (doc.RootElement.GetProperty("model_type").GetString() != "fake") throw new InvalidDataException("not a fake model");
        }
        var weights = new FileInfo(Path.Combine(directory, "weights.bin"));
        if (!weights.Exists || weights.Length == 0) throw new InvalidDataException("weights.bin is missing or empty");
    };
}

/// <summary>
/// Deterministic fake steps of a round. Candidates are the live checkpoint's generation + 1. The metrics the
/// evaluation returns are set by the test (live vs candidate, told apart by the folder: candidates are in the scratch
/// folder). Faults and blocking can be injected into step 2 or 3.
/// </summary>
sealed class FakeSteps : IGeneratorSampler, IDetectorTrainer, IGeneratorTrainer, IModelHotSwap, IRoundNotifier, IRoundDataSource
{
    public double LiveF1 { get; set; } = 0.80;
    public double CandidateF1 { get; set; } = 0.82;
    public double LivePerplexity { get; set; } = 40;
    public double CandidatePerplexity { get; set; } = 41;
    public double LiveFoolRate { get; set; } = 0.10;
    public double CandidateFoolRate { get; set; } = 0.25;

    /// <summary>Thrown at the start of step 2 / step 3 when set (once: cleared after throwing).</summary>
    public Exception? FailDetectorTraining { get; set; }
    public Exception? FailGeneratorTraining { get; set; }
    /// <summary>When set, step 2 signals <see cref="DetectorTrainingEntered"/> and waits for cancellation.</summary>
    public bool BlockDetectorTraining { get; set; }
    public TaskCompletionSource DetectorTrainingEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Lets a blocked step 2 go on.</summary>
    public TaskCompletionSource DetectorTrainingRelease { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>When set, the detector trainer writes this text as weights.bin (empty = a corrupt candidate).</summary>
    public string? CandidateDetectorWeights { get; set; }

    int _samplings;
    public int Samplings => _samplings;
    public ConcurrentQueue<(string Name, string Version)> Swaps { get; } = new();
    public ConcurrentQueue<RoundReport> Reports { get; } = new();
    public DetectorTrainingRequest? LastDetectorRequest { get; private set; }

    public Task<RoundData> LoadAsync(CancellationToken cancellation) => Task.FromResult(new RoundData(
        [new WeightedText("flood downtown, roads closed", "human", 1.0, "moderator"),
         new WeightedText("a generated tweet", "gpt2", 0.5, "user_feedback")],
        ["some unlabelled user text"],
        [new WeightedText("held out tweet", "human", 1.0, "moderator")]));

    public Task<IReadOnlyList<string>> SampleAsync(string generatorDirectory, int count, int seed, CancellationToken cancellation)
    {
        Interlocked.Increment(ref _samplings);
        int generation = FakeCheckpoint.Generation(generatorDirectory);
        return Task.FromResult<IReadOnlyList<string>>(Enumerable.Range(0, count).Select(i => $"sample {i} of generator {generation}").ToList());
    }

    public async Task TrainAsync(DetectorTrainingRequest request, CancellationToken cancellation)
    {
        LastDetectorRequest = request;
        if (FailDetectorTraining is { } e) { FailDetectorTraining = null; throw e; }
        FakeCheckpoint.Write(request.OutputDirectory, FakeCheckpoint.Generation(request.LiveDetectorDirectory) + 1);
        if (CandidateDetectorWeights is not null) File.WriteAllText(Path.Combine(request.OutputDirectory, "weights.bin"), CandidateDetectorWeights);
        if (BlockDetectorTraining)
        {
            DetectorTrainingEntered.TrySetResult();
            await DetectorTrainingRelease.Task.WaitAsync(cancellation);
        }
    }

    /// <summary>The held-out texts the last detector evaluation was given.</summary>
    public IReadOnlyList<WeightedText>? LastHeldOut { get; private set; }

    public Task<DetectorScore> EvaluateAsync(string detectorDirectory, IReadOnlyList<WeightedText> heldOut, string reportDirectory,
        CancellationToken cancellation) =>
        Task.FromResult((LastHeldOut = heldOut) is not null && IsCandidate(detectorDirectory)
            ? new DetectorScore(CandidateF1, CandidateF1 + 0.05)
            : new DetectorScore(LiveF1, LiveF1 + 0.05));

    public Task TrainAsync(GeneratorTrainingRequest request, CancellationToken cancellation)
    {
        if (FailGeneratorTraining is { } e) { FailGeneratorTraining = null; throw e; }
        FakeCheckpoint.Write(request.OutputDirectory, FakeCheckpoint.Generation(request.LiveGeneratorDirectory) + 1);
        return Task.CompletedTask;
    }

    public Task<GeneratorScore> EvaluateAsync(string generatorDirectory, string detectorDirectory, int seed, CancellationToken cancellation) =>
        Task.FromResult(IsCandidate(generatorDirectory)
            ? new GeneratorScore(CandidatePerplexity, CandidateFoolRate)
            : new GeneratorScore(LivePerplexity, LiveFoolRate));

    /// <summary>Thrown by the next hot swap when set (once).</summary>
    public Exception? FailSwap { get; set; }

    public Task SwapAsync(string modelName, string version, string directory, CancellationToken cancellation)
    {
        if (FailSwap is { } e) { FailSwap = null; throw e; }
        Swaps.Enqueue((modelName, version));
        return Task.CompletedTask;
    }

    public Task RoundFinishedAsync(RoundReport report, CancellationToken cancellation)
    {
        Reports.Enqueue(report);
        return Task.CompletedTask;
    }

    static bool IsCandidate(string directory) => directory.Contains($"{Path.DirectorySeparatorChar}scratch{Path.DirectorySeparatorChar}");
}

/// <summary>A registry and scratch folder with live generation-1 models, and a round over <see cref="FakeSteps"/>.</summary>
sealed class RoundFixture : IDisposable
{
    readonly Hub.ScratchDirectory _dir = new();
    public FakeSteps Steps { get; } = new();
    public ModelRegistry Registry { get; }
    public RetrainingOptions Options { get; }
    public string Root => _dir.Path;

    public RoundFixture()
    {
        Options = new RetrainingOptions
        {
            Store = "memory", RegistryRoot = Path.Combine(_dir.Path, "registry"), ScratchRoot = Path.Combine(_dir.Path, "scratch"),
            Samples = 8, MaxMacroF1Drop = 0.02, MaxPerplexityFactor = 1.10,
        };
        Registry = new ModelRegistry(Options.RegistryRoot, FakeCheckpoint.Validate);
        foreach (string name in new[] { ModelNames.Generator, ModelNames.Detector })
        {
            string source = Path.Combine(_dir.Path, "initial-" + name);
            FakeCheckpoint.Write(source, 1);
            Registry.Promote(name, Registry.Register(name, source).Version);
        }
    }

    /// <summary>A host with AddRetraining over <see cref="Steps"/>; <paramref name="settings"/> are full configuration keys.</summary>
    public Microsoft.Extensions.Hosting.IHost BuildHost(IDictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Retraining:RegistryRoot"] = Options.RegistryRoot, ["Retraining:ScratchRoot"] = Options.ScratchRoot, ["Retraining:Samples"] = "8",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.Services.AddSingleton(FakeCheckpoint.Validate);
        builder.Services.AddSingleton<IRoundDataSource>(Steps);
        builder.Services.AddSingleton<IGeneratorSampler>(Steps);
        builder.Services.AddSingleton<IDetectorTrainer>(Steps);
        builder.Services.AddSingleton<IGeneratorTrainer>(Steps);
        builder.Services.AddSingleton<IModelHotSwap>(Steps);
        builder.Services.AddSingleton<IRoundNotifier>(Steps);
        builder.Services.AddRetraining(builder.Configuration);
        return builder.Build();
    }

    public AdversarialRound Round() => new(Registry, Options, Steps, Steps, Steps, Steps, new LiveModelSync(Registry, Steps), Steps);

    /// <summary>Folders left in the scratch root (a finished round leaves none).</summary>
    public string[] ScratchLeftovers() =>
        Directory.Exists(Options.ScratchRoot) ? Directory.GetFileSystemEntries(Options.ScratchRoot) : [];

    public void Dispose() => _dir.Dispose();
}
