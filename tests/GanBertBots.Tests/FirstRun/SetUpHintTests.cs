using GanBertBots.Host.Serving;
using GanBertBots.Inference;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Generation;
using GanBertBots.Tests.Hub;
using GanBertBots.Tests.Support;
using GanBertBots.Training.Data;
using GanBertBots.Training.Detector;
using Microsoft.Extensions.Logging;
using static GanBertBots.Tests.FirstRun.FirstRunFiles;

namespace GanBertBots.Tests.FirstRun;

/// <summary>The set-up commands the service logs work as printed; chat users get one short sentence.</summary>
public sealed class SetUpHintTests : IDisposable
{
    readonly ScratchDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Missing_models_log_the_commands_and_users_get_a_short_sentence()
    {
        string generatorDir = Path.Combine(_dir.Path, "gpt2"), detectorDir = Path.Combine(_dir.Path, "detector");
        Directory.CreateDirectory(detectorDir);
        File.WriteAllText(Path.Combine(detectorDir, "config.json"), "{}"); // present but not a detector
        var log = new LinesLogger();
        using var service = new InferenceService(new InferenceOptions());

        await ServedModels.LoadAsync(service, new ModelsOptions { Generator = generatorDir, Detector = detectorDir }, new InferenceOptions(), log);

        string logged = string.Join("\n", log.Lines);
        Assert.Contains($"`ganbertbots train-generator --data ../shared/data/disaster-tweets/train.csv", logged);
        Assert.Contains("`ganbertbots models pull gpt2`", logged);
        Assert.Contains("`ganbertbots train-detector --preset m4 --data ../shared/data/m4-subset/m4_subset.jsonl", logged);
        Assert.Contains($"'{detectorDir}' is not loadable: config.json: not a GAN-BERT detector", logged);
        var tweet = await service.GenerateAsync(new TweetRequest("floods"));
        var verdict = await service.DetectAsync("some text");
        Assert.Equal(InferenceOutcome.Unavailable, tweet.Outcome);
        Assert.Equal(ServedModels.GeneratorNotSetUp, tweet.Message);
        Assert.Equal(ServedModels.DetectorNotSetUp, verdict.Message);
        Assert.DoesNotContain("ganbertbots", tweet.Message + verdict.Message);
    }

    [SharedDataFact("disaster-tweets/train.csv", "m4-subset/m4_subset.jsonl")]
    public void The_printed_data_files_have_the_fields_the_commands_read()
    {
        var generator = PrintedCommand(ServedModels.GeneratorMissing("models/gpt2", sharedData: SharedData.Root!), "train-generator");
        var tweets = TextTable.Read(ValueOf(generator, "--data")).Take(5).ToList();
        Assert.All(tweets, r => Assert.False(string.IsNullOrWhiteSpace(r["text"])));

        var detector = PrintedCommand(ServedModels.DetectorMissing("models/detector", sharedData: SharedData.Root!), "train-detector");
        var preset = DetectorPreset.Find(ValueOf(detector, "--preset"));
        var rows = DetectorData.Load(ValueOf(detector, "--data"), preset.TextField, preset.LabelField, preset.GroupField);
        Assert.All(rows, r => Assert.False(string.IsNullOrEmpty(r.Group)));
        Assert.Equal(["human", "chatGPT", "cohere", "davinci", "dolly"], DetectorTrainer.ClassesOf(rows));
    }

    [SharedDataFact("gpt2-tokenizer/encoder.json")]
    public async Task The_printed_generator_command_trains_a_generator_the_service_loads()
    {
        string outDir = Path.Combine(_dir.Path, "models", "gpt2");
        var printed = PrintedCommand(ServedModels.GeneratorMissing(outDir, sharedData: SharedData.Root!), "train-generator");
        Assert.Equal(outDir, ValueOf(printed, "--out"));
        // As printed, with a tiny corpus in the same layout and one short epoch.
        var args = With(printed, "--data", TweetsCsv(_dir.Path));
        args.AddRange(["--epochs", "1", "--block-size", "16", "--batch-size", "4"]);

        var (code, output, err) = await Cli([.. args]);

        Assert.True(code == 0, err + output);
        Assert.True(TextGenerator.Check(outDir).IsLoadable, TextGenerator.Check(outDir).Describe());
        (code, output, err) = await Cli("models", "list", "--dest", Path.GetDirectoryName(outDir)!);
        Assert.Matches(@"(?m)^gpt2\s+gpt2\s+\S+ \S+\s+ok\s*$", output);
    }

    [SharedDataFact("all-MiniLM-L6-v2/config.json")]
    public async Task The_printed_detector_command_trains_a_detector_the_service_loads()
    {
        string outDir = Path.Combine(_dir.Path, "models", "detector");
        var printed = PrintedCommand(ServedModels.DetectorMissing(outDir, sharedData: SharedData.Root!), "train-detector");
        Assert.Equal(outDir, ValueOf(printed, "--out"));
        var args = With(printed, "--data", DetectorJsonl(_dir.Path, rows: 40));
        args.AddRange(["--epochs", "1", "--max-length", "32"]);

        var (code, output, err) = await Cli([.. args]);

        Assert.True(code == 0, err + output);
        Assert.True(DetectorCheckpoint.Check(outDir).IsLoadable, DetectorCheckpoint.Check(outDir).Describe());
        (code, output, err) = await Cli("models", "list", "--dest", Path.GetDirectoryName(outDir)!);
        Assert.Matches(@"(?m)^detector\s+detector\s+\S+ \S+\s+ok\s*$", output);
    }

    [Fact]
    public void The_readme_gives_the_same_offline_commands_after_its_two_set_up_commands()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "GanBertBots.sln"))) root = root.Parent;
        Assert.NotNull(root);
        string readme = File.ReadAllText(Path.Combine(root.FullName, "README.md"));
        string text = System.Text.RegularExpressions.Regex.Replace(readme, @"\\\n\s*", "");
        int setUp = text.IndexOf("## Set-up: two commands", StringComparison.Ordinal);
        int next = text.IndexOf("\n## ", setUp + 1, StringComparison.Ordinal);
        Assert.True(setUp >= 0 && next > setUp, "README has no set-up section");
        string section = text[setUp..next];
        var blocks = System.Text.RegularExpressions.Regex.Matches(section, "```bash\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.Equal(2, blocks[0].Groups[1].Value.Split('\n').Count(l => l.StartsWith("dotnet ", StringComparison.Ordinal)));
        const string run = "dotnet run --project src/GanBertBots.Host -- ";
        Assert.Contains(run + string.Join(' ', ServedModels.TrainGeneratorCommand("models/gpt2")), section);
        Assert.Contains(run + string.Join(' ', ServedModels.TrainDetectorCommand("models/detector")), section);
    }

    sealed class LinesLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }
}
