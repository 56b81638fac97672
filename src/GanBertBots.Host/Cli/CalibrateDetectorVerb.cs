using System.Globalization;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Detector;

namespace GanBertBots.Host.Cli;

/// <summary><c>calibrate-detector</c>: fits temperature scaling and the short-text limit for an existing detector on labelled validation texts.</summary>
public sealed class CalibrateDetectorVerb : ICliVerb
{
    public string Name => "calibrate-detector";
    public string Summary => "fit a detector's calibration (temperature, shortest reliable text) on labelled validation texts";
    public string Usage => """
        Usage: ganbertbots calibrate-detector --detector DIR --data FILE [--text-field text] [--label-field label] [--short-text-accuracy 0.7] [--scorer GPT2DIR]
          --data FILE    .jsonl or .csv of labelled texts the detector did not train on (e.g. OUT/validation.jsonl)
          --short-text-accuracy X   texts shorter than where accuracy falls below X are answered "too short to judge"
          --scorer DIR   also fit the fusion with this GPT-2's zero-shot score (the generator the service serves, e.g.
                         models/gpt2): a logistic regression over [logit of the calibrated P(machine), zero-shot score]
        Writes DIR/calibration.json (read when the detector is loaded; without it the raw softmax is served; with fusion
        weights the service fuses the detector with the served GPT-2's zero-shot score).
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args);
        string directory = a.Require("detector");
        string data = a.Require("data");
        string textField = a.Get("text-field") ?? "text";
        string labelField = a.Get("label-field") ?? "label";
        double level = a.GetDouble("short-text-accuracy", DetectorCalibrationFit.DefaultShortTextAccuracy);
        if (level is <= 0 or > 1 || double.IsNaN(level)) throw new CliUsageException($"--short-text-accuracy must be above 0 and at most 1 (got {level})");
        var placement = TorchPlacement.Resolve(a.Get("device") ?? "auto");
        string? scorerDir = a.Get("scorer");
        a.RejectUnknown();

        var rows = DetectorData.Load(data, textField, labelField);
        using var detector = GanBertDetector.Load(directory, placement, encoderDirectories: HubSettings.EncoderFolders(context.Configuration).Directories);
        // The detector reads each text once: the calibration and the fusion share its answers. Nothing is read when Fit
        // will refuse anyway (no human class, no usable row), so its message comes at once.
        var kept = rows.Where(r => r.Label is not null && detector.Classes.Contains(r.Label)).ToList();
        var answers = kept.Count > 0 && detector.Config.RealClass is not null ? DetectorCalibrationFit.Run(detector, kept) : (new List<double[]>(), new List<int>());
        var (calibration, report) = DetectorCalibrationFit.Fit(detector, kept, level, answers);
        context.Out.WriteLine(Describe(calibration, report, Path.GetFileName(data)));
        if (scorerDir is not null)
        {
            using var scorer = Models.Generation.TextGenerator.Load(scorerDir, placement);
            var scores = Training.ZeroShot.ZeroShotEvaluation.Score(new Models.ZeroShot.TextScorer(scorer.Model, scorer.Tokenizer),
                kept.Select(r => r.Text).ToList(), cancellationToken: context.Cancellation).Select(s => s.Score).ToList();
            var (person, zeroShot, isPerson) = FusedVerdicts.Collect(detector, calibration, kept, answers.Item1, scores);
            var fusion = FusedVerdicts.Fit(person, zeroShot, isPerson);
            calibration = calibration with { Fusion = fusion };
            calibration.Figures["fusion_scorer"] = scorer.ModelVersion;
            context.Out.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "  fusion with {0}'s zero-shot score: P(machine) = sigmoid({1:0.###} + {2:0.###}·logit P_detector(machine) + {3:0.###}·score)",
                scorer.ModelVersion, fusion.Bias, fusion.DetectorWeight, fusion.ZeroShotWeight));
            context.Out.WriteLine("  on these texts (fitted here, so optimistic): " + FusedVerdicts.Measure(person, zeroShot, isPerson, fusion).Format());
        }
        calibration.Write(directory);
        context.Out.WriteLine($"written to {Path.Combine(directory, DetectorCalibration.FileName)}");
        return Task.FromResult(0);
    }

    /// <summary>What a fitted calibration is, in a few lines.</summary>
    public static string Describe(DetectorCalibration calibration, CalibrationReport? report, string split)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Format(inv, "calibration fitted on {0} ({1} texts): temperature {2:0.###}", split, calibration.Figures["validation_texts"], calibration.Temperature),
        };
        if (report is not null)
            lines.Add(string.Format(inv, "  P(person): ECE {0:0.0000} -> {1:0.0000}, Brier {2:0.0000} -> {3:0.0000} (raw softmax -> calibrated)",
                report.EceBefore, report.EceAfter, report.BrierBefore, report.BrierAfter));
        lines.Add(calibration.MinimumTokens > 0
            ? string.Format(inv, "  texts under {0} tokens are \"too short to judge\" (accuracy below {1:0.##} there)", calibration.MinimumTokens, calibration.MinimumTokensAccuracy)
            : string.Format(inv, "  no length limit: no short texts fell below {0:0.##} accuracy", calibration.MinimumTokensAccuracy));
        return string.Join(Environment.NewLine, lines);
    }
}
