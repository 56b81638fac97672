using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GanBertBots.Testing;
using GanBertBots.Tests.Detector;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Process;

/// <summary>
/// train-detector and train-generator run as a user runs them with the output going to a log (not a terminal): they
/// print a plain progress line with the rate and the time left every N steps (issue 12 item 2), and train-detector
/// takes the fine-tuning options of a pretrained encoder and records them in the detector it writes.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class TrainingProgressProcessTests
{
    const string Rate = @"\d+\.\d+ step/s · ETA \d+(s|m\d\ds)";

    [Fact]
    public async Task A_detector_of_machines_only_trains_skips_the_real_or_fake_calibration_and_is_gated()
    {
        // "Which model wrote this?" among machines only, as ArguGPT's essays are: no human class, no P(person) to calibrate.
        string work = Directory.CreateTempSubdirectory("ganbertbots-machines-").FullName;
        try
        {
            var rows = SyntheticDetector.Rows(60, seed: 4).Select(r => r with { Label = r.Label == "human" ? "davinci" : r.Label }).ToList();
            DetectorData.WriteJsonl(Path.Combine(work, "essays.jsonl"), rows);
            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "train-detector", "--data", "essays.jsonl",
                "--backbone", "small", "--out", "detector", "--epochs", "4", "--batch-size", "8", "--max-length", "16", "--lr", "1e-2",
                "--validation-fraction", "0.3", "--force", "--threads", "1", "--device", "cpu");
            Assert.True(code == 0, output + errors);
            Assert.Contains("no human class among davinci, gpt2: no real-or-fake calibration", output);
            Assert.Matches("gate (passed|refused, kept because of --force): ", output);
            Assert.False(File.Exists(Path.Combine(work, "detector", "calibration.json")));
            Assert.True(File.Exists(Path.Combine(work, "detector", "model.safetensors")));
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Train_detector_on_a_pretrained_encoder_prints_progress_lines_and_keeps_the_recipe()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-progress-").FullName;
        try
        {
            string bert = new TinyBert(distil: false, seed: 9).SaveWithVocabulary(Path.Combine(work, "tiny-bert"));
            DetectorData.WriteJsonl(Path.Combine(work, "texts.jsonl"), SyntheticDetector.Rows(24, seed: 3));

            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "train-detector", "--data", "texts.jsonl",
                "--backbone", "bert", "tiny-bert", "--out", "detector", "--epochs", "2", "--batch-size", "4", "--max-length", "16",
                "--pooling", "mean", "--warmup", "0.2", "--layer-lr-decay", "0.9", "--weight-decay", "0.02", "--progress-every", "2",
                "--feature-matching", "0.5", "--spread-matching", "2", "--validation-fraction", "0", "--threads", "1", "--device", "cpu");
            Assert.True(code == 0, output + errors);
            // All 24 rows train (no validation split), 4 a batch = 6 steps an epoch: the first step, every 2nd, the epoch's last.
            var lines = output.Split('\n').Where(l => l.Contains(" step/s")).Select(l => l.Trim()).ToList();
            Assert.Equal(["epoch 1/2 step 1/6", "epoch 1/2 step 2/6", "epoch 1/2 step 4/6", "epoch 1/2 step 6/6",
                          "epoch 2/2 step 2/6", "epoch 2/2 step 4/6", "epoch 2/2 step 6/6"],
                lines.Select(l => Regex.Match(l, @"^epoch \d/\d step \d/\d").Value));
            Assert.All(lines, l => Assert.Matches(@"^epoch \d/2 step \d/6 L_D \d+\.\d{3} L_G -?\d+\.\d{3} · " + Rate + "$", l));
            // Each epoch's line ends with the GAN's health.
            Assert.Equal(2, Regex.Matches(output, @"^epoch [12]: L_D .* GAN: p_fake real [01]\.\d{3} fake [01]\.\d{3} spread \d+\.\d\d", RegexOptions.Multiline).Count);

            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(work, "detector", "config.json")))!;
            Assert.Equal("mean", config["encoder"]!["pooling"]!.GetValue<string>());
            var recipe = config["training"]!["recipe"]!;
            Assert.Equal(0.2, recipe["warmup"]!.GetValue<double>());
            Assert.Equal(0.9, recipe["layer_lr_decay"]!.GetValue<double>());
            Assert.Equal(0.02, recipe["weight_decay"]!.GetValue<double>());
            Assert.Equal(5e-5, recipe["learning_rate"]!.GetValue<double>());
            Assert.Equal(0.5, recipe["feature_matching"]!.GetValue<double>());
            Assert.Equal(2.0, recipe["spread_matching"]!.GetValue<double>());

            var bad = await ServiceProcess.RunCliAsync(work, null, "train-detector", "--data", "texts.jsonl", "--backbone", "bert", "tiny-bert",
                "--out", "other", "--pooling", "max");
            Assert.NotEqual(0, bad.Code);
            Assert.Contains("--pooling must be mean or cls (got 'max')", bad.Error);
            Assert.False(Directory.Exists(Path.Combine(work, "other")));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Train_detector_with_adapters_writes_a_detector_that_needs_its_base_encoder()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-adapters-").FullName;
        try
        {
            string bert = new TinyBert(distil: false, seed: 9).SaveWithVocabulary(Path.Combine(work, "tiny-bert"));
            DetectorData.WriteJsonl(Path.Combine(work, "texts.jsonl"), SyntheticDetector.Rows(16, seed: 4));

            await ServiceProcess.RunCliOkAsync(work, null, "train-detector", "--data", "texts.jsonl", "--backbone", "bert", "tiny-bert",
                "--out", "detector", "--epochs", "1", "--batch-size", "8", "--max-length", "16", "--adapters", "4", "--lr", "1e-2",
                "--force", "--threads", "1", "--device", "cpu");
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(work, "detector", "config.json")))!;
            Assert.Equal("tiny-bert", config["base_encoder"]!["directory"]!.GetValue<string>());
            Assert.Equal(4, config["encoder"]!["adapter_size"]!.GetValue<int>());

            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "detect", "--model", "detector", "--text", "apple river stone", "--device", "cpu");
            Assert.True(code == 0, output + errors);
            Assert.Contains("human", output + errors);

            // Moved into the configured models directory: found there by its folder name.
            Directory.CreateDirectory(Path.Combine(work, "my-models"));
            Directory.Move(bert, Path.Combine(work, "my-models", "tiny-bert"));
            await ServiceProcess.RunCliOkAsync(work, new Dictionary<string, string> { ["GANBERTBOTS_Hub__ModelsDirectory"] = "my-models" },
                "detect", "--model", "detector", "--text", "apple river stone", "--device", "cpu");

            Directory.Move(Path.Combine(work, "my-models", "tiny-bert"), Path.Combine(work, "moved-away"));
            var missing = await ServiceProcess.RunCliAsync(work, null, "detect", "--model", "detector", "--text", "apple river stone", "--device", "cpu");
            Assert.NotEqual(0, missing.Code);
            Assert.Contains("its base encoder 'tiny-bert' was not found", missing.Error);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Train_generator_prints_progress_lines_when_not_on_a_terminal()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-progress-").FullName;
        try
        {
            ByteLevelGpt2.Create(Path.Combine(work, "gpt2"), layers: 1, embedding: 16, heads: 2, positions: 64);
            var rng = new Random(5);
            string[] words = ["flood", "fire", "storm", "the", "river", "town", "people", "rain", "wind", "help"];
            File.WriteAllLines(Path.Combine(work, "tweets.csv"), new[] { "keyword,text" }
                .Concat(Enumerable.Range(0, 40).Select(i => "flood," + string.Join(' ', Enumerable.Range(0, 6).Select(_ => words[rng.Next(words.Length)])))));

            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "train-generator", "--data", "tweets.csv",
                "--from", "gpt2", "--out", "generator", "--epochs", "2", "--batch-size", "4", "--block-size", "32", "--held-out", "0.1",
                "--progress-every", "3", "--device", "cpu");
            Assert.True(code == 0, output + errors);
            // 36 training tweets / 4 = 9 steps an epoch, 18 in all: lines at steps 1, 3, 6, ..., 18 of the run.
            var lines = output.Split('\n').Where(l => l.Contains(" step/s")).Select(l => l.Trim()).ToList();
            Assert.Equal(["1/18", "3/18", "6/18", "9/18", "12/18", "15/18", "18/18"], lines.Select(l => Regex.Match(l, @"step (\d+/\d+)").Groups[1].Value));
            Assert.All(lines, l => Assert.Matches(@"^epoch [12]/2 step \d+/18 loss \d+\.\d{4} lr \d\.\d\dE[-+]\d+ · " + Rate + "$", l));
            Assert.Contains("epoch 2/2: step 18/18", output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
