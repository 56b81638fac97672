using System.Text.RegularExpressions;
using GanBertBots.Models.GanBert;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Process;

/// <summary>
/// Issue 12's useless detector as a user meets it in the built executable: eval-detector says it is no better than the
/// majority class, models register refuses it without --force, and the console's /detect and /stats say what a served
/// detector's verdict and figures are worth.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class HonestDetectorProcessTests
{
    static readonly string[] Texts = ["a flood took the bridge near the town", "wildfire near the town", "people evacuated after the storm",
        "the river rose over the road", "smoke over the hills tonight"];

    /// <summary>8 gpt2 texts and 2 human ones: a detector answering gpt2 for all scores 0.8 accuracy and nothing more.</summary>
    static string HeldOut(string work)
    {
        string path = Path.Combine(work, "heldout.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 10).Select(i => $$"""{"text":"{{Texts[i % Texts.Length]}} {{i}}","label":"{{(i < 8 ? "gpt2" : "human")}}"}"""));
        return path;
    }

    [Fact]
    public async Task Eval_detector_prints_the_baseline_the_warning_and_the_calibration_of_a_useless_detector()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-honest-").FullName;
        try
        {
            TinyRoundModels.UselessDetector(Path.Combine(work, "useless"), Texts, always: "gpt2");
            HeldOut(work);
            var (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "eval-detector", "--model", "useless", "--data", "heldout.jsonl", "--device", "cpu");
            Assert.True(code == 0, output + error);
            Assert.Matches(@"classes\s+0\.8000\s+0\.4444", output);
            Assert.Matches(@"majority baseline \(always gpt2\)\s+0\.8000\s+0\.4444", output);
            Assert.Matches(@"real or fake\s+0\.8000\s+0\.4444", output);
            Assert.Contains("WARNING: the detector answered \"gpt2\" for 100.0% of the texts (more than 90%)", output);
            // P(person) is 0.1 for every text while 2 of 10 are a person's: ECE |0.1 − 0.2| = 0.1, Brier (8·0.01 + 2·0.81)/10 = 0.17.
            Assert.Matches(@"raw softmax\s+0\.1000\s+0\.1700", output);
            Assert.Contains("no calibration.json in useless: the raw softmax is served", output);
            Assert.Contains("AUROC of P(person): 0.5000", output); // the same score for every text
            Assert.True(File.Exists(Path.Combine(work, "useless", "eval", "reliability-diagram.png")), output);
            Assert.True(File.Exists(Path.Combine(work, "useless", "eval", "confusion-matrix.png")), output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Calibrate_detector_fits_the_known_temperature_and_eval_detector_then_reports_it()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-calibrate-").FullName;
        try
        {
            // Always P(gpt2) = 0.9 while 8 of 10 texts are gpt2's: the NLL is least where softmax(log p / T) gives gpt2 0.8,
            // 9^(1/T) = 4, T = ln 9 / ln 4 = 1.585; then P(person) = 0.2 matches the share of human texts exactly (ECE 0).
            TinyRoundModels.UselessDetector(Path.Combine(work, "useless"), Texts, always: "gpt2", confidence: 0.9);
            HeldOut(work);
            var (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "calibrate-detector", "--detector", "useless", "--data", "heldout.jsonl", "--device", "cpu");
            Assert.True(code == 0, output + error);
            Assert.Contains("calibration fitted on heldout.jsonl (10 texts): temperature 1.585", output);
            Assert.Contains("P(person): ECE 0.1000 -> 0.0000", output);
            Assert.Contains("no length limit", output); // 10 texts are too few to measure one
            Assert.Equal(Math.Log(9) / Math.Log(4), GanBertBots.Models.GanBert.DetectorCalibration.Read(Path.Combine(work, "useless"))!.Temperature, 4);

            (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "eval-detector", "--model", "useless", "--data", "heldout.jsonl", "--device", "cpu");
            Assert.True(code == 0, output + error);
            Assert.Matches(@"calibrated \(T = 1\.585\)\s+0\.0000\s+0\.1600", output); // Brier (8·0.04 + 2·0.64)/10 = 0.16
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Calibrate_detector_with_a_scorer_fits_the_fusion_and_eval_detector_compares_the_three_answers()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-fusion-").FullName;
        try
        {
            TinyRoundModels.UselessDetector(Path.Combine(work, "useless"), Texts, always: "gpt2", confidence: 0.9);
            TinyRoundModels.Generator(Path.Combine(work, "gpt2"), seed: 3);
            HeldOut(work);
            var (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "calibrate-detector", "--detector", "useless", "--data", "heldout.jsonl",
                "--scorer", "gpt2", "--device", "cpu");
            Assert.True(code == 0, output + error);
            Assert.Contains("fusion with ", output);
            var fusion = DetectorCalibration.Read(Path.Combine(work, "useless"))!.Fusion;
            Assert.NotNull(fusion);

            (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "eval-detector", "--model", "useless", "--data", "heldout.jsonl",
                "--scorer", "gpt2", "--device", "cpu");
            Assert.True(code == 0, output + error);
            var m = Regex.Match(output, @"real or fake on 10 texts, AUROC \(0\.5 = chance\): detector ([\d.]+), zero-shot ([\d.]+), fused ([\d.]+)");
            Assert.True(m.Success, output);
            // The detector gives every text the same P(person): it ranks nothing (0.5), and the fused probability is a
            // monotone function of the zero-shot score alone, so it ranks the texts exactly as the score does (or reversed).
            double detector = double.Parse(m.Groups[1].Value), zeroShot = double.Parse(m.Groups[2].Value), fused = double.Parse(m.Groups[3].Value);
            Assert.Equal(0.5, detector, 4);
            Assert.Equal(fusion!.ZeroShotWeight >= 0 ? zeroShot : 1 - zeroShot, fused, 4);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Models_register_refuses_a_useless_detector_unless_forced_and_says_why()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-gate-").FullName;
        try
        {
            TinyRoundModels.UselessDetector(Path.Combine(work, "useless"), Texts, always: "gpt2");
            HeldOut(work);
            var (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "models", "register", "detector", "useless", "--data", "heldout.jsonl", "--registry", "registry");
            Assert.Equal(1, code);
            Assert.Contains("models register: gate refused: heldout.jsonl macro-F1 0.444 (accuracy 0.800, 10 texts) is not above the majority baseline's 0.444 (always gpt2: accuracy 0.800) by more than 0.05", error);
            Assert.Contains("Nothing was registered; --force registers it anyway", error);
            Assert.False(Directory.Exists(Path.Combine(work, "registry", "detector", "v0001")), output);

            (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "models", "register", "detector", "useless", "--data", "heldout.jsonl", "--registry", "registry", "--force");
            Assert.True(code == 0, output + error);
            Assert.Contains("gate refused, registered because of --force: heldout.jsonl macro-F1 0.444", output);
            Assert.Contains("detector v0001 registered", output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Console_detect_says_the_verdict_in_words_and_stats_shows_the_held_out_figures()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-words-").FullName;
        try
        {
            string detector = Path.Combine(work, "models", "detector");
            TinyRoundModels.UselessDetector(detector, Texts, always: "gpt2", confidence: 0.9);
            // A calibration that softens its 90% a lot (T = 4: 0.9 -> 0.64) and finds texts under 5 tokens too short.
            new DetectorCalibration { Temperature = 4, MinimumTokens = 5 }.Write(detector);
            DetectorGate.Store(detector, new GateFigures("held-out", 200, 0.8, 0.62, "gpt2", 0.8, 0.444, 0.05, Passed: true));

            await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false" }, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/detect wildfire near the town today");
            await service.WaitForOutputAsync("Most likely writer");
            // P(gpt2) 0.9 softened by T = 4: 0.9^¼ / (0.9^¼ + 0.1^¼) = 0.634, so P(person) = 37%: outside the 40-60% band.
            Assert.Matches(new Regex(@"Verdict: likely machine-written - person 37% \(calibrated\)"), service.Output);
            Assert.Contains("Track record: held-out macro-F1 0.62 (majority baseline 0.44), accuracy 0.80 on 200 texts\n", service.Output.ReplaceLineEndings("\n"));

            service.Type("/detect wildfire");
            await service.WaitForOutputAsync("too short to judge reliably");
            Assert.Contains("Verdict: too short to judge reliably (1 tokens; this detector needs at least 5).", service.Output);
            Assert.Contains("Its scores anyway: person 37% (calibrated)", service.Output);
            // No claim was made, so no "Was I right?": the person may say who wrote it instead, and that is stored.
            Assert.Contains("Do you know who wrote it?\n  [1] 🙋 I know who wrote it   [2] 🔍 Why?", service.Output.ReplaceLineEndings("\n"));
            service.Type("1");
            await service.WaitForOutputAsync("Who wrote it?");
            await service.WaitForOutputAsync("(type a number to choose)", times: 3); // after the two verdicts, the classes
            Assert.True(service.Output.ReplaceLineEndings("\n").Contains("Who wrote it?\n  [1] human   [2] gpt2"), service.Output);
            service.Type("1");
            await service.WaitForOutputAsync("Labelled human by you");

            service.Type("/stats");
            await service.WaitForOutputAsync("Your game score");
            Assert.Contains("(held-out macro-F1 0.62 (majority baseline 0.44), accuracy 0.80 on 200 texts)", service.Output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task A_detector_trained_with_no_split_options_is_measured_gated_and_served_with_its_track_record()
    {
        // A user's first run on their own file, no groups and no split options: 15% of each label is set aside by default,
        // so the gate is checked and every verdict carries figures (it used to be "never measured" and "gate: not checked").
        string work = Directory.CreateTempSubdirectory("ganbertbots-measured-").FullName;
        try
        {
            DetectorData.WriteJsonl(Path.Combine(work, "texts.jsonl"), SyntheticDetector.Rows(60, seed: 4));
            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "train-detector", "--data", "texts.jsonl",
                "--backbone", "small", "--out", Path.Combine("models", "detector"), "--epochs", "4", "--batch-size", "8", "--max-length", "16",
                "--lr", "1e-2", "--force", "--threads", "1", "--device", "cpu");
            Assert.True(code == 0, output + errors);
            // 30 human and 30 gpt2 texts: round(4.5) = 4 of each.
            Assert.Contains("training GAN-BERT (small) on 52 rows", output);
            Assert.Contains("choosing the epoch on 8 validation rows", output);
            Assert.Equal(8, File.ReadAllLines(Path.Combine(work, "models", "detector", "validation.jsonl")).Length);
            Assert.Matches(@"gate (passed|refused, kept because of --force): validation macro-F1 \d\.\d{3} \(accuracy \d\.\d{3}, 8 texts\)", output);
            var gate = GateFigures.Read(DetectorCheckpoint.ReadConfig(Path.Combine(work, "models", "detector")))!;
            Assert.Equal(("validation", 8), (gate.Split, gate.Texts));

            await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false" }, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/detect " + Texts[0]);
            await service.WaitForOutputAsync("(type a number to choose)"); // the buttons, after the verdict's last line
            Assert.Contains($"Track record: {gate.TrackRecord()}", service.Output);
            Assert.DoesNotContain("never measured", service.Output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Train_detector_on_too_few_rows_to_set_any_aside_says_so_and_that_the_gate_was_not_checked()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-few-").FullName;
        try
        {
            DetectorData.WriteJsonl(Path.Combine(work, "texts.jsonl"), SyntheticDetector.Rows(12, seed: 4));
            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "train-detector", "--data", "texts.jsonl",
                "--backbone", "small", "--out", "detector", "--epochs", "1", "--max-length", "16", "--threads", "1", "--device", "cpu");
            Assert.True(code == 0, output + errors);
            Assert.Contains("no validation split: 12 labelled training rows are too few to set 15% aside (the default needs 20); " +
                "--validation-fraction X carves one anyway", output);
            Assert.Contains("gate: not checked", output);
            Assert.Null(GateFigures.Read(DetectorCheckpoint.ReadConfig(Path.Combine(work, "detector"))));

            var bad = await ServiceProcess.RunCliAsync(work, null, "train-detector", "--data", "texts.jsonl", "--backbone", "small",
                "--out", "other", "--validation-fraction", "1.5");
            Assert.NotEqual(0, bad.Code);
            Assert.Contains("--validation-fraction must be at least 0 and below 1 (got 1.5)", bad.Error);
            Assert.False(Directory.Exists(Path.Combine(work, "other")));
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Resuming_a_run_that_had_no_validation_split_names_the_difference_and_resumes_with_validation_fraction_0()
    {
        // A run started without a split (before the default set 15% aside, or with --validation-fraction 0) and resumed with
        // no split options: the default would choose epochs on rows the run trained on, so it is refused, saying how to go on.
        string work = Directory.CreateTempSubdirectory("ganbertbots-resume-").FullName;
        try
        {
            DetectorData.WriteJsonl(Path.Combine(work, "texts.jsonl"), SyntheticDetector.Rows(40, seed: 4));
            string[] run = ["train-detector", "--data", "texts.jsonl", "--backbone", "small", "--out", "detector",
                "--max-length", "16", "--batch-size", "8", "--threads", "1", "--device", "cpu"];
            var first = await ServiceProcess.RunCliAsync(work, null, [.. run, "--epochs", "1", "--validation-fraction", "0"]);
            Assert.True(first.Code == 0, first.Out + first.Error);

            var refused = await ServiceProcess.RunCliAsync(work, null, [.. run, "--epochs", "2", "--resume"]);
            Assert.NotEqual(0, refused.Code);
            Assert.Contains("the run had no validation split and this one sets 6 rows aside", refused.Error); // 20 + 20 texts: 3 of each
            Assert.Contains("resume it as it was with --validation-fraction 0", refused.Error);

            var resumed = await ServiceProcess.RunCliAsync(work, null, [.. run, "--epochs", "2", "--resume", "--validation-fraction", "0"]);
            Assert.True(resumed.Code == 0, resumed.Out + resumed.Error);
            var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(work, "detector", DetectorTrainer.StateFile)))!;
            Assert.Equal(2, state["epochs_done"]!.GetValue<int>());
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Console_detect_gives_no_verdict_on_any_text_from_a_detector_let_through_its_gate_with_force()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-forced-").FullName;
        try
        {
            // Confident (P(gpt2) 90% on every text, so never "no evidence") but no better than the majority class.
            string detector = Path.Combine(work, "models", "detector");
            TinyRoundModels.UselessDetector(detector, Texts, always: "gpt2", confidence: 0.9);
            DetectorGate.Store(detector, new GateFigures("held-out", 200, 0.8, 0.444, "gpt2", 0.8, 0.444, 0.05, Passed: false, Forced: true));

            await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false" }, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/detect " + Texts[0]);
            await service.WaitForOutputAsync("Do you know who wrote it?");
            service.Type("/detect " + Texts[1]);
            await service.WaitForOutputAsync("Do you know who wrote it?", times: 2);
            Assert.Equal(2, Regex.Count(service.Output, Regex.Escape(
                "Verdict: none - this detector did no better than always answering one class on texts it never trained on (/stats has its figures).")));
            Assert.Equal(2, Regex.Count(service.Output, Regex.Escape("Its scores anyway: person 10% (raw detector score)")));
            Assert.DoesNotContain("likely machine-written", service.Output);
            Assert.DoesNotContain("Was I right?", service.Output);
            Assert.Contains("failed its evaluation gate (held-out macro-F1 0.44 (majority baseline 0.44), accuracy 0.80 on 200 texts; let through with --force) " +
                "and is served only because --force let it through", service.Errors + service.Output);

            service.Type("/stats");
            await service.WaitForOutputAsync("Your game score");
            Assert.Contains("(held-out macro-F1 0.44 (majority baseline 0.44), accuracy 0.80 on 200 texts; let through with --force)", service.Output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Console_detect_gives_no_verdict_from_a_detector_that_scores_every_class_evenly()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-even-").FullName;
        try
        {
            // Five classes, chatGPT 24% and 19% for each of the others on every text, no calibration: what an untrained detector says.
            TinyRoundModels.UselessDetector(Path.Combine(work, "models", "detector"), Texts, always: "chatGPT", confidence: 0.24,
                classes: ["human", "chatGPT", "cohere", "davinci", "gpt2"]);
            await using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Retraining__Enabled"] = "false" }, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/detect a flood took the bridge near the town");
            await service.WaitForOutputAsync("Most likely writer");
            Assert.Contains("Verdict: no evidence either way - this detector scores every class about evenly on this text.", service.Output);
            Assert.Contains("Its scores anyway: person 19% (raw detector score)", service.Output);
            Assert.Contains("Track record: never measured on texts it did not train on", service.Output);
            Assert.DoesNotContain("likely machine-written", service.Output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }
}
