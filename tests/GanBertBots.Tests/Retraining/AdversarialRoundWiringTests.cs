using GanBertBots.Storage;
using RoundDetectorOptions = GanBertBots.Training.Detector.RoundDetectorOptions;
using RoundDetectorTrainer = GanBertBots.Training.Detector.RoundDetectorTrainer;
using GanBertBots.Training.Generator;
using GanBertBots.Training.Rounds;
using GanBertBots.Training.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace GanBertBots.Tests.Retraining;

/// <summary><c>AddAdversarialRoundSteps</c>: the real steps replace the stand-ins, bound from the Retraining section; the round table's figures.</summary>
public sealed class AdversarialRoundWiringTests : IAsyncLifetime
{
    readonly Hub.ScratchDirectory _dir = new();
    ILabelStore _store = null!;

    public async Task InitializeAsync() => _store = await LabelStore.OpenAsync(new StorageOptions { DataDirectory = _dir.Path });

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    ServiceProvider Build(Dictionary<string, string?> settings, bool realSteps = true)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Retraining:Store"] = "memory", ["Retraining:RegistryRoot"] = Path.Combine(_dir.Path, "registry"),
            ["Retraining:ScratchRoot"] = Path.Combine(_dir.Path, "scratch"), ["Retraining:Device"] = "cpu",
        }).AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(_store);
        if (realSteps) services.AddAdversarialRoundSteps(configuration);
        services.AddRetraining(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void The_real_steps_and_their_settings_are_what_the_round_gets()
    {
        using var provider = Build(new()
        {
            ["Retraining:Generator:Steps"] = "7", ["Retraining:Generator:LearningRate"] = "3e-5", ["Retraining:Generator:MleWeight"] = "0",
            ["Retraining:Detector:Epochs"] = "3", ["Retraining:Detector:LearningRate"] = "1e-4",
            ["Retraining:MaxCorpus"] = "123", ["Retraining:CorpusWeight"] = "0.5", ["Retraining:CorpusClass"] = "person",
        });
        Assert.IsType<Gpt2RoundSteps>(provider.GetRequiredService<IGeneratorSampler>());
        Assert.Same(provider.GetRequiredService<IGeneratorSampler>(), provider.GetRequiredService<IGeneratorTrainer>());
        Assert.IsType<RoundDetectorTrainer>(provider.GetRequiredService<IDetectorTrainer>());
        Assert.IsType<LabelStoreRoundData>(provider.GetRequiredService<IRoundDataSource>());
        Assert.NotNull(provider.GetRequiredService<AdversarialRound>());

        var tuning = provider.GetRequiredService<PolicyGradientOptions>();
        Assert.Equal((7, 3e-5, 0.0, 16), (tuning.Steps, tuning.LearningRate, tuning.MleWeight, tuning.SamplesPerStep));
        var detector = provider.GetRequiredService<RoundDetectorOptions>();
        Assert.Equal((3, 1e-4, 32), (detector.Epochs, detector.LearningRate, detector.BatchSize));
        var corpus = provider.GetRequiredService<CorpusTweets>();
        Assert.Equal(("person", 0.5), (corpus.Class, corpus.Weight));
        var options = provider.GetRequiredService<RetrainingOptions>();
        Assert.Equal(123, options.MaxCorpus);
        Assert.Equal(RetrainingOptions.DefaultKeywords, options.EffectiveKeywords);
    }

    [Fact]
    public void Without_the_real_steps_the_stand_ins_remain()
    {
        using var provider = Build([], realSteps: false);
        Assert.Equal("StepsNotConfigured", provider.GetRequiredService<IDetectorTrainer>().GetType().Name);
    }

    [Fact]
    public void Configured_keywords_replace_the_default_list_and_the_shipped_appsettings_bind()
    {
        using var provider = Build(new() { ["Retraining:Keywords:0"] = "fire", ["Retraining:Keywords:1"] = "oil%20spill" });
        Assert.Equal(["fire", "oil%20spill"], provider.GetRequiredService<RetrainingOptions>().EffectiveKeywords);

        // The shipped appsettings.json: its Retraining section binds and validates as it is.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "GanBertBots.sln"))) root = root.Parent ?? throw new DirectoryNotFoundException("no GanBertBots.sln above the tests");
        string appsettings = Path.Combine(root.FullName, "appsettings.json");
        var shipped = new ConfigurationBuilder().AddJsonFile(appsettings).Build();
        var services = new ServiceCollection();
        services.AddAdversarialRoundSteps(shipped);
        var options = new RetrainingOptions();
        shipped.GetSection(RetrainingOptions.Section).Bind(options);
        Assert.Equal(RetrainingOptions.DefaultKeywords, options.EffectiveKeywords);
        Assert.Equal(new PolicyGradientOptions(), shipped.GetSection(AdversarialRoundServiceCollectionExtensions.GeneratorSection).Get<PolicyGradientOptions>());
    }

    [Theory]
    [InlineData("Retraining:Generator:Steps", "0", "Retraining:Generator: Steps must be at least 1")]
    [InlineData("Retraining:Generator:LearningRate", "fast", "Retraining:Generator:")]
    [InlineData("Retraining:Detector:Epochs", "0", "Retraining:Detector:")]
    [InlineData("Retraining:Device", "tpu", "Retraining:Device: unknown device 'tpu'")]
    [InlineData("Retraining:Keywords:0", "oil spill", "Retraining:Keywords: 'oil spill' is not a keyword")]
    [InlineData("Retraining:CorpusWeight", "0", "Retraining:CorpusWeight must be a positive number")]
    [InlineData("Retraining:MaxCorpus", "-1", "Retraining:MaxCorpus")]
    public void A_bad_setting_is_refused_at_registration_naming_its_key(string key, string value, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Build(new() { [key] = value }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_round_row_derives_accuracy_on_generated_and_the_balanced_accuracy_from_recall_and_fool_rate()
    {
        var start = new DateTimeOffset(2026, 1, 2, 3, 0, 0, TimeSpan.Zero);
        var report = new RoundReport
        {
            RoundId = "r1", RequestedBy = "test", StartedAt = start, FinishedAt = start.AddSeconds(90), Outcome = RoundOutcome.Rejected,
            Reason = "gate refused", LiveDetectorVersion = "v0001", LiveGeneratorVersion = "v0001",
            CandidateDetectorVersion = "v0002", CandidateGeneratorVersion = "v0002",
            Metrics = new RoundMetrics(
                new DetectorScore(0.5, 0.6),
                new DetectorScore(0.7, 0.8) { Extra = new Dictionary<string, double> { ["recall_human"] = 0.9 } },
                new GeneratorScore(40, 0.1), new GeneratorScore(44.5, 0.3), 512),
        };
        var row = RoundSummary.From(2, report, TimeSpan.FromSeconds(91.24));
        Assert.Equal(0.7, row.GeneratedAccuracy!.Value, 12);
        Assert.Equal(0.8, row.BalancedAccuracy!.Value, 12);       // (0.9 + 0.7) / 2
        Assert.Equal("| 2 | rejected v0002/v0002 | 0.600 / 0.800 | 0.500 / 0.700 | 0.900 | 0.300 | 0.700 | 0.800 | 40.00 / 44.50 | 91.2 |",
            row.MarkdownRow());
        Assert.Equal(RoundSummary.MarkdownHeader.Split('\n')[0].Count(c => c == '|'), row.MarkdownRow().Count(c => c == '|'));

        var failed = RoundSummary.From(3, report with { Outcome = RoundOutcome.Failed, Reason = "IOException: disk | full", Metrics = null }, TimeSpan.FromSeconds(2));
        Assert.Null(failed.BalancedAccuracy);
        Assert.Equal(@"| 3 | failed: IOException: disk \| full | - / - | - / - | - | - | - | - | - / - | 2.0 |", failed.MarkdownRow());
        var noRecall = RoundSummary.From(4, report with { Metrics = report.Metrics! with { CandidateDetector = new DetectorScore(0.7, 0.8) } }, TimeSpan.Zero);
        Assert.Null(noRecall.BalancedAccuracy);
        Assert.Equal(0.7, noRecall.GeneratedAccuracy!.Value, 12);

        string json = RoundSummary.ToJson([row, failed]);
        Assert.Contains("\"balanced_accuracy\": 0.8", json);
        Assert.Contains("\"outcome\": \"failed\"", json);
        Assert.Contains("\"fool_rate\": null", json);
    }
}
