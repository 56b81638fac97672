using GanBertBots.Tests.Hub;
using static GanBertBots.Tests.FirstRun.FirstRunFiles;

namespace GanBertBots.Tests.FirstRun;

/// <summary>train-detector checks everything before it makes its output folder; the common field names need no options.</summary>
public sealed class TrainDetectorUsageTests : IDisposable
{
    readonly ScratchDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    string Out => Path.Combine(_dir.Path, "out");

    public static TheoryData<string, string[], string> UsageErrors => new()
    {
        { "unknown backbone", ["--backbone", "huge"], "unknown backbone" },
        { "bert without its folder", ["--backbone", "bert", "NO-SUCH-DIR"], "not found" },
        { "unknown preset", ["--backbone", "small", "--preset", "semeval"], "unknown --preset 'semeval' (known: m4, argugpt)" },
        { "zero epochs", ["--backbone", "small", "--vocab", "VOCAB", "--epochs", "0"], "epochs" },
        { "missing vocab file", ["--backbone", "small", "--vocab", "NO-SUCH-VOCAB"], "not found" },
        { "labels outside --classes", ["--backbone", "small", "--vocab", "VOCAB", "--classes", "human,dolly"], "gpt2" },
        { "missing data file", ["--backbone", "small", "--vocab", "VOCAB", "--data", "NO-SUCH-FILE.jsonl"], "NO-SUCH-FILE" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task A_usage_error_leaves_no_output_folder(string what, string[] options, string mentioned)
    {
        string vocab = SyntheticDetector.WriteVocab(_dir.Path);
        string data = DetectorJsonl(_dir.Path);
        var args = new List<string> { "train-detector", "--data", data, "--out", Out };
        args.AddRange(options.Select(o => o switch
        {
            "VOCAB" => vocab,
            "NO-SUCH-DIR" or "NO-SUCH-VOCAB" or "NO-SUCH-FILE.jsonl" => Path.Combine(_dir.Path, o),
            _ => o,
        }));
        if (options.Contains("--data")) args.RemoveRange(1, 2); // the case's own --data replaces the good one

        var (code, _, err) = await Cli([.. args]);

        Assert.True(code != 0, $"{what}: expected a failure");
        Assert.Contains(mentioned, err);
        Assert.False(Directory.Exists(Out), $"{what}: left {Out} behind ({string.Join(", ", Directory.Exists(Out) ? Directory.EnumerateFileSystemEntries(Out, "*", SearchOption.AllDirectories) : [])})");
    }

    [Fact]
    public async Task Small_without_vocab_builds_its_vocabulary_from_the_training_texts_offline()
    {
        // It used to fail with "needs --vocab" after it had made OUT/last/.
        var (code, output, err) = await Cli("train-detector", "--data", DetectorJsonl(_dir.Path), "--backbone", "small",
            "--epochs", "1", "--max-length", "32", "--out", Out);
        Assert.True(code == 0, err + output);
        var vocab = File.ReadAllLines(Path.Combine(Out, "vocab.txt"));
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], vocab[..5]);
        Assert.True(GanBertBots.Models.GanBert.DetectorCheckpoint.Check(Out).IsLoadable);
        Assert.True(File.Exists(Path.Combine(Out, "last", "config.json")));
    }

    [Fact]
    public async Task Preset_m4_is_a_first_detector_in_one_command_held_out_by_paper()
    {
        // The M4 layout (text, label, source_id): the preset holds out 20% of the papers and keeps each paper on one side.
        var (code, output, err) = await Cli("train-detector", "--preset", "m4", "--data", DetectorJsonl(_dir.Path, rows: 40), "--backbone", "small",
            "--epochs", "1", "--force", "--out", Out); // one epoch of 28 texts: the gate's verdict is not what this test is about
        Assert.True(code == 0, err + output);
        var heldOut = File.ReadAllLines(Path.Combine(Out, "heldout.jsonl"));
        Assert.InRange(heldOut.Length, 2, 16);
        Assert.Contains($"testing on {heldOut.Length}", output);
        var heldPapers = heldOut.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("group").GetString()).ToHashSet();
        var validationPapers = File.ReadAllLines(Path.Combine(Out, "validation.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("group").GetString()).ToHashSet();
        Assert.Empty(heldPapers.Intersect(validationPapers));
        Assert.Equal(128, GanBertBots.Models.GanBert.DetectorCheckpoint.ReadConfig(Out).MaxLength);
        var training = GanBertBots.Models.GanBert.DetectorCheckpoint.ReadConfig(Out).Training;
        Assert.Equal(16, (int)training["batch_size"]!); // the preset's measured run; --epochs 1 above wins over its 4
    }

    [Fact]
    public async Task Text_and_label_are_the_default_fields_and_models_list_calls_the_result_ok()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir.Path);
        string models = Path.Combine(_dir.Path, "models");
        string detector = Path.Combine(models, "detector");

        // One epoch of 20 texts: the gate (on the 4 validation texts carved by default) is not what this test is about.
        var (code, output, err) = await Cli("train-detector", "--data", DetectorJsonl(_dir.Path), "--backbone", "small", "--vocab", vocab,
            "--epochs", "1", "--max-length", "32", "--force", "--out", detector);
        Assert.True(code == 0, err + output);
        Assert.True(GanBertBots.Models.GanBert.DetectorCheckpoint.Check(detector).IsLoadable);

        (code, output, err) = await Cli("models", "list", "--dest", models);
        Assert.True(code == 0, err);
        Assert.Matches(@"(?m)^detector\s+detector\s+\S+ \S+\s+ok\s*$", output);
    }

    [Fact]
    public async Task A_row_split_of_a_file_in_a_presets_layout_says_it_flatters_the_figures_and_how_to_split_by_group()
    {
        // M4's layout (text, label, source_id) without --preset: by default 15% of the rows are set aside, and one paper's
        // abstracts may then sit on both sides.
        string vocab = SyntheticDetector.WriteVocab(_dir.Path);
        var (code, output, err) = await Cli("train-detector", "--data", DetectorJsonl(_dir.Path), "--backbone", "small", "--vocab", vocab,
            "--epochs", "1", "--max-length", "32", "--force", "--out", Out);
        Assert.True(code == 0, err + output);
        Assert.Contains("choosing the epoch on 4 validation rows", output); // 12 human and 12 gpt2 texts: round(1.8) = 2 of each
        Assert.Contains("has a source_id field, but without --group-field the split is by row, so one source_id's texts can sit on " +
            "both sides and flatter the figures; --group-field source_id --test-fraction 0.2 (or --preset m4) keeps each on one side", output);

        (code, output, err) = await Cli("train-detector", "--data", DetectorJsonl(_dir.Path), "--preset", "m4", "--backbone", "small",
            "--vocab", vocab, "--epochs", "1", "--max-length", "32", "--force", "--out", Path.Combine(_dir.Path, "grouped"));
        Assert.True(code == 0, err + output);
        Assert.DoesNotContain("flatter", output);
    }

    [Fact]
    public async Task Refusing_an_out_that_holds_a_training_run_leaves_its_files_as_they_were()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir.Path);
        string data = DetectorJsonl(_dir.Path);
        var (code, output, err) = await Cli("train-detector", "--data", data, "--backbone", "small", "--vocab", vocab,
            "--epochs", "1", "--max-length", "32", "--force", "--out", Out);
        Assert.True(code == 0, err + output);
        var before = Directory.EnumerateFiles(Out, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => (File.GetLastWriteTimeUtc(f), new FileInfo(f).Length));
        await Task.Delay(50); // a rewrite would change a write time

        (code, _, err) = await Cli("train-detector", "--data", data, "--backbone", "small", "--vocab", vocab, "--epochs", "1", "--out", Out);
        Assert.NotEqual(0, code);
        Assert.Contains("already holds a training run", err);
        var after = Directory.EnumerateFiles(Out, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => (File.GetLastWriteTimeUtc(f), new FileInfo(f).Length));
        Assert.Equal(before, after);
    }
}
