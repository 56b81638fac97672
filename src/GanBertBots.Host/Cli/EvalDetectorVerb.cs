using System.Text.Json;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Detector;

namespace GanBertBots.Host.Cli;

/// <summary><c>eval-detector</c>: scores a trained detector on labelled texts, with a confusion-matrix PNG and training-curve PNGs.</summary>
public sealed class EvalDetectorVerb : ICliVerb
{
    public string Name => "eval-detector";
    public string Summary => "score a trained detector: accuracy and macro-F1 beside the majority baseline, MCC, calibration (ECE, Brier), PNG charts";
    public string Usage => """
        Usage: ganbertbots eval-detector --model DIR --data FILE [--text-field text] [--label-field label] [--out DIR] [--json FILE] [--title T]
          --data FILE    .jsonl or .csv with a text and a label per row (labels outside the detector's classes are shown, not scored)
          --out DIR      where the PNGs go (default: DIR/eval): confusion-matrix.png, reliability-diagram.png, training curves
          --json FILE    also write the report as JSON
          --scorer DIR   also print the zero-shot AUROC of this GPT-2 checkpoint on the same texts (see eval-zero-shot), and
                         the real-or-fake AUROC of the detector, the zero-shot score and their fusion (calibrate-detector --scorer)
          --human L      the human class for that AUROC (default human)
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args);
        string model = a.Require("model");
        string data = a.Require("data");
        string textField = a.Get("text-field") ?? "text";
        string labelField = a.Get("label-field") ?? "label";
        string outDir = a.Get("out") ?? Path.Combine(model, "eval");
        string? jsonPath = a.Get("json");
        string title = a.Get("title") ?? Path.GetFileName(Path.GetFullPath(model).TrimEnd('/'));
        var placement = TorchPlacement.Resolve(a.Get("device") ?? "auto");
        int batch = a.GetInt("batch-size", 32);
        string? scorerDir = a.Get("scorer");
        string human = a.Get("human") ?? "human";
        a.RejectUnknown();

        var rows = DetectorData.Load(data, textField, labelField);
        using var detector = GanBertDetector.Load(model, placement, batch, HubSettings.EncoderFolders(context.Configuration).Directories);
        var calibration = DetectorCalibration.Read(model);
        var labelled = rows.Where(r => r.Label is not null).ToList();
        if (labelled.Count == 0) throw new GanBertBots.Models.UserFacingException($"{data}: no row has a label in field '{labelField}'");
        // One pass over the texts: the class report and the calibration figures come from the same probabilities.
        var (probabilities, _) = DetectorCalibrationFit.Run(detector, labelled);
        var predicted = probabilities.Select(p => detector.Classes[Array.IndexOf(p, p.Max())]).ToList();
        var report = DetectorEvaluation.Score(detector.Classes, labelled.Select(r => r.Label!).ToList(), predicted, detector.Config.RealClass);
        if (report.Scored == 0)
        {
            // Accuracy over no texts is not 0: there is nothing to report. Say why instead.
            var found = rows.Select(r => r.Label ?? "(none)").Distinct().Order(StringComparer.Ordinal).Take(12);
            context.Error.WriteLine($"eval-detector: no text in {data} has a label among the detector's classes " +
                $"({string.Join(", ", detector.Classes)}); its labels are: {string.Join(", ", found)}. " +
                "Evaluate on texts labelled with those classes (--label-field names the field).");
            return 1;
        }
        await context.Out.WriteLineAsync($"detector {detector.ModelVersion} on {data}");
        await context.Out.WriteAsync(report.Format());
        Directory.CreateDirectory(outDir);
        string confusion = Path.Combine(outDir, "confusion-matrix.png");
        DetectorPlots.ConfusionMatrix(report, confusion, $"{title} on {Path.GetFileName(data)}");
        var charts = new List<string> { confusion };
        var inClasses = labelled.Select((r, i) => (r, i)).Where(x => detector.Classes.Contains(x.r.Label!)).ToList();
        var calibrationReport = DetectorCalibrationFit.Measure(detector, calibration, inClasses.Select(x => x.r).ToList(),
            inClasses.Select(x => probabilities[x.i]).ToList());
        if (calibrationReport is { } c)
        {
            await context.Out.WriteLineAsync();
            await context.Out.WriteLineAsync($"{$"calibration of P(person), {c.Texts} texts",-40}   ECE    Brier");
            await context.Out.WriteLineAsync($"{"  raw softmax",-40}{c.EceBefore,6:F4}  {c.BrierBefore,6:F4}");
            if (calibration is not null)
                await context.Out.WriteLineAsync($"{$"  calibrated (T = {calibration.Temperature:0.###})",-40}{c.EceAfter,6:F4}  {c.BrierAfter,6:F4}");
            else
                await context.Out.WriteLineAsync($"  no {DetectorCalibration.FileName} in {model}: the raw softmax is served (calibrate-detector fits one)");
            if (!double.IsNaN(c.Auroc)) await context.Out.WriteLineAsync($"  AUROC of P(person): {c.Auroc:F4} (0.5 = no better than chance)");
            if (calibration is { MinimumTokens: > 0 } m)
                await context.Out.WriteLineAsync($"  texts under {m.MinimumTokens} tokens are answered \"too short to judge\" (validation accuracy below {m.MinimumTokensAccuracy:0.##} there)");
            string reliability = Path.Combine(outDir, "reliability-diagram.png");
            CalibrationPlots.ReliabilityDiagram(c, reliability, $"{title} on {Path.GetFileName(data)}", calibration is not null);
            charts.Add(reliability);
        }
        var curves = DetectorPlots.TrainingCurves(DetectorTrainer.ReadHistory(model), outDir, title);
        await context.Out.WriteLineAsync($"charts: {string.Join(", ", charts.Concat(curves))}");
        if (scorerDir is not null)
        {
            using var scorer = GanBertBots.Models.Generation.TextGenerator.Load(scorerDir, placement);
            GanBertBots.Training.ZeroShot.ZeroShotEvaluation.CheckLabels(labelled, human); // before the long scoring pass
            // One GPT-2 pass over the labelled texts serves the zero-shot report and the fusion below.
            var scored = GanBertBots.Training.ZeroShot.ZeroShotEvaluation.Score(
                new GanBertBots.Models.ZeroShot.TextScorer(scorer.Model, scorer.Tokenizer), labelled.Select(r => r.Text).ToList(), cancellationToken: context.Cancellation);
            await context.Out.WriteLineAsync($"zero-shot scorer {scorer.ModelVersion}, beside the detector:");
            await context.Out.WriteAsync(GanBertBots.Training.ZeroShot.ZeroShotEvaluation.Report(labelled, scored, human).Format());
            if (detector.Config.RealClass is not null)
            {
                // The three real-or-fake answers side by side, as the service would give them with this scorer served,
                // from the detector's probabilities computed above.
                var (person, scores, isPerson) = FusedVerdicts.Collect(detector, calibration, labelled, probabilities, scored.Select(s => s.Score).ToList());
                await context.Out.WriteLineAsync(FusedVerdicts.Measure(person, scores, isPerson, calibration?.Fusion).Format());
            }
        }
        if (jsonPath is not null)
        {
            var json = report.ToJson();
            json["model_version"] = detector.ModelVersion;
            json["data"] = data;
            if (calibrationReport is not null)
            {
                json["calibration"] = calibrationReport.ToJson();
                json["calibration"]!["temperature"] = calibration?.Temperature;
            }
            await File.WriteAllTextAsync(jsonPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        return 0;
    }
}
