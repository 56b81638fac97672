using GanBertBots.Models.GanBert;
using System.Text.Json;
using GanBertBots.Storage;
using GanBertBots.Training.Registry;
using GanBertBots.Training.Rounds;

namespace GanBertBots.Tests.Retraining;

/// <summary>
/// Whole adversarial rounds through the real steps (GPT-2 sampling and policy-gradient tuning, GAN-BERT training and
/// evaluation) on tiny models and a tiny corpus, the way an operator runs them: import, <c>models register</c>,
/// <c>retrain --here</c>.
/// </summary>
// One test starts the built executable: with the other process tests, one at a time.
[Collection(Process.ServiceProcessCollection.Name)]
public sealed class RealRoundTests : IDisposable
{
    readonly Hub.ScratchDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    string Registry => Path.Combine(_dir.Path, "registry");
    string Scratch => Path.Combine(_dir.Path, "scratch");
    string Data => Path.Combine(_dir.Path, "data");

    static readonly string[] Corpus =
    [
        "Forest fire near the ridge, crews on site", "Flood water rising on the main road", "Huge fire downtown, stay away",
        "The river flood reached the houses", "Smoke from the fire over the valley", "Flood warning for the coast tonight",
        "Fire trucks on the bridge now", "Our street is a flood again", "The fire is out, thanks to the crews",
        "Flood damage on the farm is bad", "Wild fire on the hill this morning", "Roads closed after the flood",
        "A fire in the old mill", "The flood took the bridge", "Fire crews worked all night",
        "Rain and flood in the town", "That fire was close to the school", "Flood maps are out for the valley",
        "Fire season started early this year", "Flood water in the basement again",
    ];

    Dictionary<string, string?> Settings() => new()
    {
        ["Storage:DataDirectory"] = Data,
        ["Retraining:Store"] = "memory", ["Retraining:RegistryRoot"] = Registry, ["Retraining:ScratchRoot"] = Scratch,
        ["Retraining:Device"] = "cpu", ["Retraining:Samples"] = "8", ["Retraining:FoolRateSamples"] = "8",
        ["Retraining:HeldOutFraction"] = "0.3",
        // The gate passes any finite candidate, so the second round must start from the first round's models.
        ["Retraining:MaxMacroF1Drop"] = "1", ["Retraining:MaxPerplexityFactor"] = "1000", ["Retraining:MinMacroF1OverBaseline"] = "-1",
        ["Retraining:Keywords:0"] = "fire", ["Retraining:Keywords:1"] = "flood",
        ["Retraining:Generator:Steps"] = "2", ["Retraining:Generator:SamplesPerStep"] = "4", ["Retraining:Generator:MaxNewTokens"] = "8",
        ["Retraining:Generator:LearningRate"] = "0.001", ["Retraining:Generator:MleBatchSize"] = "4",
        ["Retraining:Detector:Epochs"] = "1", ["Retraining:Detector:BatchSize"] = "8",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    Task<(int Code, string Out, string Error)> Run(params string[] args) => CliRun.RunAsync(Settings(), args);

    async Task SeedStoreAsync()
    {
        await using var store = await LabelStore.OpenAsync(new StorageOptions { DataDirectory = Data });
        await store.AddTextsAsync(Corpus.Select(t => new NewText(t, TextOrigin.Corpus) { CorpusName = "tiny.csv", WrittenBy = "human" }).ToList());
        var moderator = new UserKey("telegram", "9001");
        foreach (var (text, cls) in new[] { ("the fire bridge crews", "gpt2"), ("flood the flood the road", "gpt2"),
                                           ("my house is fine after the flood", "human"), ("is the fire near you", "human") })
        {
            long id = (await store.AddTextAsync(new NewText(text, TextOrigin.UserSubmitted))).TextId;
            await store.AddLabelAsync(new NewLabel(id, moderator, UserRole.Moderator, cls, LabelSource.Moderator, 1));
        }
        await store.AddTextAsync(new NewText("is the road open now", TextOrigin.UserSubmitted));   // unlabelled
        // Both sides of the split must hold real tweets: the detector's gate and the generator's perplexity use the held-out side.
        Assert.Contains(Corpus, t => LabelStoreRoundData.IsHeldOut(t, 0.3));
        Assert.Contains(Corpus, t => !LabelStoreRoundData.IsHeldOut(t, 0.3));
    }

    async Task SeedRegistryAsync()
    {
        string gen = TinyRoundModels.Generator(Path.Combine(_dir.Path, "gen"), seed: 5);
        string det = TinyRoundModels.Detector(Path.Combine(_dir.Path, "det"), Corpus);
        foreach (var (name, dir) in new[] { ("generator", gen), ("detector", det) })
        {
            var (code, _, error) = await Run("models", "register", name, dir, "--promote");
            Assert.True(code == 0, error);
        }
    }

    [Fact]
    public async Task Two_rounds_here_train_register_and_promote_real_models_each_on_the_previous_rounds()
    {
        await SeedStoreAsync();
        await SeedRegistryAsync();
        string reports = Path.Combine(_dir.Path, "reports");

        var (code, output, error) = await Run("retrain", "--here", "--rounds", "2", "--report", reports);
        Assert.True(code == 0, output + error);
        // The table is printed once, a row as each round ends (it used to be printed again at the end).
        string header = RoundSummary.MarkdownHeader.Split('\n')[0];
        Assert.Equal(1, output.Split(header).Length - 1);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(reports, "rounds.json")));
        var rounds = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, rounds.Count);
        for (int i = 0; i < 2; i++)
        {
            var r = rounds[i];
            Assert.True(r.GetProperty("outcome").GetString() == "promoted", r.GetProperty("reason").GetString());
            string live = $"v{i + 1:0000}", candidate = $"v{i + 2:0000}";
            Assert.Equal((live, live), (r.GetProperty("live_detector_version").GetString(), r.GetProperty("live_generator_version").GetString()));
            Assert.Equal((candidate, candidate), (r.GetProperty("candidate_detector_version").GetString(), r.GetProperty("candidate_generator_version").GetString()));
            foreach (string share in new[] { "detector_accuracy_live", "detector_accuracy_candidate", "macro_f1_live", "macro_f1_candidate", "fool_rate", "generated_accuracy" })
                Assert.InRange(r.GetProperty(share).GetDouble(), 0, 1);
            Assert.Equal(1 - r.GetProperty("fool_rate").GetDouble(), r.GetProperty("generated_accuracy").GetDouble(), 12);
            foreach (string perplexity in new[] { "perplexity_live", "perplexity_candidate" })
                Assert.InRange(r.GetProperty(perplexity).GetDouble(), 1, 1e6);
            if (r.GetProperty("human_recall_candidate").ValueKind == JsonValueKind.Number)
                Assert.Equal((r.GetProperty("human_recall_candidate").GetDouble() + r.GetProperty("generated_accuracy").GetDouble()) / 2,
                    r.GetProperty("balanced_accuracy").GetDouble(), 12);
            Assert.True(r.GetProperty("seconds").GetDouble() > 0);
        }

        var registry = new ModelRegistry(Registry, CheckpointValidators.Default().Validator);
        foreach (string name in new[] { "generator", "detector" })
        {
            Assert.Equal(["v0001", "v0002", "v0003"], registry.Versions(name).Select(v => v.Version));
            Assert.Equal("v0003", registry.Live(name)!.Version);
            registry.Verify(registry.Live(name)!);
            Assert.True(File.Exists(Path.Combine(registry.Get(name, "v0002").ReportDirectory, "report.md")));
        }
        // Each candidate says whether it was calibrated on the round's calibration share (this store is too small: why not).
        var liveDetector = registry.Live("detector")!.Directory;
        var calibration = DetectorCheckpoint.ReadConfig(liveDetector).Training["calibration"]!;
        Assert.False(calibration["calibrated"]!.GetValue<bool>());
        Assert.Contains("calibration texts", calibration["reason"]!.GetValue<string>());
        Assert.Null(DetectorCalibration.Read(liveDetector));
        Assert.Empty(Directory.GetFileSystemEntries(Scratch));

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("| round | outcome |", lines[0]);
        Assert.StartsWith("| 1 | promoted v0002/v0002 |", lines[2]);
        Assert.StartsWith("| 2 | promoted v0003/v0003 |", lines[3]);
        string table = File.ReadAllText(Path.Combine(reports, "rounds.md"));
        Assert.Contains(lines[2], table);
        Assert.Contains(lines[3], table);
    }

    [Fact]
    public async Task A_round_promoted_detector_keeps_its_held_out_figures_and_the_service_shows_them()
    {
        // It used to be served as "never measured" though the round had just measured it on the held-out texts.
        await SeedStoreAsync();
        await SeedRegistryAsync();
        var environment = Settings().ToDictionary(s => s.Key.Replace(":", "__"), s => s.Value!);
        var (code, output, error) = await Process.ServiceProcess.RunCliAsync(_dir.Path, environment, "retrain", "--here", "--rounds", "1");
        Assert.True(code == 0, output + error);
        Assert.Contains("| 1 | promoted v0002/v0002 |", output);

        var registry = new ModelRegistry(Registry, CheckpointValidators.Default().Validator);
        var live = registry.Live("detector")!;
        var gate = GateFigures.Read(DetectorCheckpoint.ReadConfig(live.Directory));
        Assert.NotNull(gate);
        using (var rounds = JsonDocument.Parse(File.ReadAllText(Path.Combine(Registry, "rounds.json"))))
            Assert.Equal(rounds.RootElement[0].GetProperty("macro_f1_candidate").GetDouble(), gate.MacroF1, 12);
        Assert.Equal(("held-out", -1.0, true, false), (gate.Split, gate.Margin, gate.Passed, gate.Forced)); // this test's margin
        Assert.InRange(gate.Texts, 1, Corpus.Length + 8);
        registry.Verify(live); // stored before registering: the registered files are the ones hashed

        environment["Retraining__Enabled"] = "false";
        await using var service = Process.ServiceProcess.Start(environment, _dir.Path);
        await service.WaitForOutputAsync("Type /help for the commands");
        service.Type("/stats");
        await service.WaitForOutputAsync("Your game score");
        Assert.Contains($"Detector: detector v0002 ({gate.TrackRecord()})", service.Output);
        Assert.Equal(0, (await service.TerminateAsync()).ExitCode);
    }

    [Fact]
    public async Task Without_live_models_the_round_fails_with_what_to_do_and_the_run_stops()
    {
        await SeedStoreAsync();
        var (code, output, error) = await Run("retrain", "--here", "--rounds", "3");
        Assert.Equal(1, code);
        Assert.Contains("| 1 | failed: there is no live generator: register and promote one first", output);
        Assert.DoesNotContain("| 2 |", output);
        Assert.Contains("round 1 failed, so the remaining rounds are not run", error);
        Assert.True(File.Exists(Path.Combine(Registry, "rounds.json")));
        Assert.Equal(2, (await Run("retrain", "--here", "--rounds", "0")).Code);
        Assert.Equal(2, (await Run("retrain", "--here", "--now")).Code);
    }
}
