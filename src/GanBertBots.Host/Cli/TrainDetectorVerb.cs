using System.Text.Json.Nodes;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Detector;
using GanBertBots.Training.Scheduling;
using Spectre.Console;

namespace GanBertBots.Host.Cli;

/// <summary><c>train-detector</c>: trains a GAN-BERT detector (or its supervised-only twin) from a .jsonl or .csv file.</summary>
public sealed class TrainDetectorVerb : ICliVerb
{
    /// <summary>Set aside for choosing the epoch, calibrating and the gate, unless --validation-fraction says otherwise:
    /// a detector nothing measured is served with "never measured" under every verdict.</summary>
    const double DefaultValidationFraction = 0.15;
    /// <summary>Below this, 15% would be two texts or fewer: too few to measure anything, and missed in training.</summary>
    const int MinLabelledRowsForDefaultValidation = 20;

    public string Name => "train-detector";
    public string Summary => "train a GAN-BERT detector from labelled (and unlabelled) texts";
    public string Usage => """
        Usage: ganbertbots train-detector --data FILE --backbone (small [--vocab FILE] | bert DIR | distilbert DIR) --out DIR [options]
          --data FILE             .jsonl or .csv; rows with an empty label train as unlabelled
          --preset NAME           a public data set's layout: m4 (text, label, held out by source_id) or argugpt (text, model,
                                  held out by prompt_id); sets the fields, --group-field, --test-fraction 0.2, --max-length 128,
                                  --epochs 4, --batch-size 16, and --lr 1e-4 for a pretrained encoder (measured on M4: README)
          --text-field F          column with the text (default text)
          --label-field F         column with the label (default label; e.g. model for ArguGPT)
          --epochs N              (default 3)
          --labeled-fraction X    keep the labels of this fraction of labelled rows per class (default 1); the rest are unlabelled
          --backbone KIND [DIR]   small (trained from scratch; without --vocab it builds an 8,000-piece vocabulary from the
                                  training texts, offline) or a Hugging Face bert/distilbert directory
                                  (offline: bert ../shared/data/all-MiniLM-L6-v2)
          --vocab FILE            WordPiece vocab.txt (default: the encoder directory's)
          --classes A,B,...       class set and order (default: the labels in the data, human first)
          --supervised-only       the same backbone and head trained on labelled rows only (the baseline)
          --group-field F --test-fraction X   hold out a fraction of the groups (e.g. prompt_id, source_id) as a test set,
                                  written to OUT/heldout.jsonl; scored after every epoch for the curves, never used to choose
          --validation-fraction X carve a labelled validation split out of the training rows (by group with --group-field,
                                  else by row within each label; default 0.15 where there are at least 20 labelled rows;
                                  0 = none, and nothing measures the detector), written to OUT/validation.jsonl; the epoch
                                  with the best validation macro-F1 (ties: earlier) is the detector in OUT
          --validation FILE       choose the epoch on this labelled file instead
          --patience N            stop after N epochs without a better validation macro-F1 (default 0 = off)
          --threads N             torch CPU threads (default: torch's choice)
          --batch-size N (32) --generator-lr X --max-length N (256) --seed S (42)
          --device auto|cpu|cuda  (on CUDA, float32 matmuls run on TF32 tensor cores)
          --lr X                  learning rate (default 5e-5 for bert/distilbert, 1e-3 for small)
          --warmup X              share of the steps with a linear warm-up, then linear decay (default 0.1 for
                                  bert/distilbert; small: a constant rate unless given)
          --weight-decay X        AdamW weight decay, never on biases or LayerNorm (default 0.01)
          --layer-lr-decay X      layer-wise rate decay: layer l of L gets lr*X^(L-l), the embeddings the lowest (default 1 = off)
          --freeze-encoder        train the head only; the encoder stays as loaded
          --head-lr X             the GAN-BERT head's learning rate (discriminator; the generator's too unless --generator-lr);
                                  default: --lr. The head starts from scratch on a pretrained encoder and may want more
          --feature-matching W    weight of the generator's feature-matching term (default 1, as in GAN-BERT)
          --spread-matching W     weight of a generator term pulling the spread of its outputs to the real encoder
                                  outputs', against a collapsed generator (default 0: not in GAN-BERT)
          --unlabelled-ratio R    use at most R unlabelled rows per labelled row (a seeded choice; default: all)
          --labelled-repeats N    GAN-BERT: each labelled row N times an epoch (default GAN-BERT's floor(log2(1/rate)): 3 at 10%
                                  labels); more gives the labelled texts the exposure supervised-only's steps give them
          --pooling mean|cls      one vector per text: mean over the real tokens (default), or the encoder's [CLS]
                                  (BERT's pooler, DistilBERT's [CLS] state)
          --adapters SIZE         Houlsby adapters (bottleneck SIZE, e.g. 64) in every layer of the frozen pretrained encoder;
                                  adapters, LayerNorms and head train, and OUT stores only those (megabytes) beside the
                                  encoder's directory and sha256: the encoder must stay there (or in the models folder,
                                  Hub:ModelsDirectory) to load it
          --progress-every N      when the output is not a terminal: a progress line (losses, step/s, ETA) every N steps
                                  (default 10; also the first step and each epoch's last); a terminal gets a progress bar
          --resume                continue the run in --out (from OUT/last/: weights, optimisers; epoch, history, best epoch)
          --margin X              the gate: held-out (else validation) macro-F1 must beat the majority baseline's by more
                                  than X (default Retraining:MinMacroF1OverBaseline, 0.05); otherwise exit code 1
          --force                 keep a detector the gate refuses (the reason is printed and stored with it)
          --short-text-accuracy X texts shorter than where validation accuracy falls below X are "too short" (default 0.7)
        Output: OUT/ holds the chosen epoch's detector and training-state.json; OUT/last/ the last epoch's weights and
        optimiser state (the resume point). With a validation split, OUT/calibration.json holds the temperature fitted on it
        and the shortest text it judges reliably; the gate's figures go into OUT/config.json (training.gate).
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "resume", "supervised-only", "freeze-encoder", "force");
        bool force = a.Flag("force");
        double margin = RegistryCli.GateMargin(a, context);
        double shortTextAccuracy = a.GetDouble("short-text-accuracy", DetectorCalibrationFit.DefaultShortTextAccuracy);
        if (shortTextAccuracy is <= 0 or > 1 || double.IsNaN(shortTextAccuracy)) throw new CliUsageException($"--short-text-accuracy must be above 0 and at most 1 (got {shortTextAccuracy})");
        string data = a.Require("data");
        var preset = a.Get("preset") is { } presetName ? DetectorPreset.Find(presetName) : null;
        string textField = a.Get("text-field") ?? preset?.TextField ?? "text";
        string labelField = a.Get("label-field") ?? preset?.LabelField ?? "label";
        string backbone = a.Require("backbone").ToLowerInvariant();
        string? encoderDir = a.Get("encoder") ?? (backbone is "bert" or "distilbert" && a.Positional.Count > 0 ? a.Positional[0] : null);
        if (backbone is "bert" or "distilbert" && encoderDir is null) throw new CliUsageException($"--backbone {backbone} needs its checkpoint directory (--backbone {backbone} DIR)");
        string? groupField = a.Get("group-field") ?? preset?.GroupField;
        double? testFraction = a.GetDoubleOrNull("test-fraction") ?? preset?.TestFraction;
        if ((groupField is null) != (testFraction is null)) throw new CliUsageException("--group-field and --test-fraction go together");
        string? validationFile = a.Get("validation");
        double? askedValidationFraction = a.GetDoubleOrNull("validation-fraction");
        if (validationFile is not null && askedValidationFraction > 0) throw new CliUsageException("--validation FILE and --validation-fraction exclude each other");
        if (askedValidationFraction is < 0 or >= 1) throw new CliUsageException($"--validation-fraction must be at least 0 and below 1 (got {askedValidationFraction})");
        double validationFraction = validationFile is not null ? 0 : askedValidationFraction ?? DefaultValidationFraction;
        if (a.GetIntOrNull("threads") is { } threads)
        {
            if (threads < 1) throw new CliUsageException($"--threads must be at least 1 (got {threads})");
            TorchSharp.torch.set_num_threads(threads);
        }
        var options = new DetectorTrainingOptions
        {
            RealClass = LabelsConfiguration.Read(context.Configuration).Human, // the class vocabulary's "a person wrote it"
            Backbone = backbone,
            EncoderDirectory = encoderDir,
            VocabPath = a.Get("vocab"),
            Classes = a.Get("classes")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Epochs = a.GetInt("epochs", preset?.Epochs ?? 3),
            BatchSize = a.GetInt("batch-size", preset?.BatchSize ?? 32),
            LearningRate = a.GetDoubleOrNull("lr") ?? (backbone == "small" ? null : preset?.PretrainedLearningRate),
            GeneratorLearningRate = a.GetDoubleOrNull("generator-lr"),
            HeadLearningRate = a.GetDoubleOrNull("head-lr"),
            MaxLength = a.GetInt("max-length", preset?.MaxLength ?? 256),
            LabeledFraction = a.GetDouble("labeled-fraction", 1.0),
            Adversarial = !a.Flag("supervised-only"),
            Seed = a.GetInt("seed", 42),
            Patience = a.GetInt("patience", 0),
            OutputDirectory = a.Require("out"),
            Resume = a.Flag("resume"),
            Placement = TorchPlacement.Resolve(a.Get("device") ?? "auto"),
            Pooling = a.Get("pooling")?.ToLowerInvariant() switch
            {
                null => null,
                "mean" => Models.Bert.Pooling.Mean,
                "cls" => Models.Bert.Pooling.Cls,
                var other => throw new CliUsageException($"--pooling must be mean or cls (got '{other}')"),
            },
            WarmupFraction = a.GetDoubleOrNull("warmup"),
            WeightDecay = a.GetDouble("weight-decay", 0.01),
            LayerLearningRateDecay = a.GetDouble("layer-lr-decay", 1.0),
            FreezeEncoder = a.Flag("freeze-encoder"),
            AdapterSize = a.GetInt("adapters", 0),
            FeatureMatchingWeight = a.GetDouble("feature-matching", 1.0),
            SpreadMatchingWeight = a.GetDouble("spread-matching", 0),
            UnlabelledPerLabelled = a.GetDoubleOrNull("unlabelled-ratio"),
            LabelledRepeatsPerEpoch = a.GetIntOrNull("labelled-repeats"),
        };
        int progressEvery = ProgressLines.Every(a);
        a.RejectUnknown();
        // Everything is checked before OUT is made: a usage error leaves nothing behind.
        DetectorTrainer.Validate(options);
        DetectorTrainer.CheckOutputDirectory(options);      // before anything is written there

        var (rows, fields) = DetectorData.LoadWithFields(data, textField, labelField, groupField);
        List<LabelledText> train = rows, validation = [], test = [];
        if (groupField is not null)
        {
            // The test groups first: they never reach training or the choice of epoch.
            (train, test) = DetectorData.SplitByGroup(rows, testFraction!.Value, options.Seed);
        }
        if (validationFile is not null) validation = DetectorData.Load(validationFile, textField, labelField);
        else if (validationFraction > 0)
        {
            // Only labelled rows can score an epoch; unlabelled ones stay in training.
            var labelled = train.Where(r => r.Label is not null).ToList();
            if (askedValidationFraction is null && labelled.Count < MinLabelledRowsForDefaultValidation)
            {
                await context.Out.WriteLineAsync($"no validation split: {labelled.Count} labelled training rows are too few to set " +
                    $"{DefaultValidationFraction * 100:0}% aside (the default needs {MinLabelledRowsForDefaultValidation}); --validation-fraction X carves one anyway");
                validationFraction = 0;
            }
            else
            {
                (_, validation) = groupField is not null
                    ? DetectorData.SplitByGroup(labelled, validationFraction, options.Seed + 1)
                    : DetectorData.SplitRows(labelled, validationFraction, options.Seed + 1);
                var chosenForValidation = validation.ToHashSet();
                train = train.Where(r => !chosenForValidation.Contains(r)).ToList();
                if (groupField is null && DetectorPreset.GroupedBy(fields) is { } grouped)
                    await context.Out.WriteLineAsync($"note: {data} has a {grouped.GroupField} field, but without --group-field the split is " +
                        $"by row, so one {grouped.GroupField}'s texts can sit on both sides and flatter the figures; --group-field " +
                        $"{grouped.GroupField} --test-fraction {grouped.TestFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)} (or --preset {grouped.Name}) keeps each on one side");
            }
        }
        if (!options.Resume || !File.Exists(Path.Combine(options.OutputDirectory, DetectorTrainer.StateFile)))
        {
            var classes = options.Classes ?? DetectorTrainer.ClassesOf(rows);
            var unknown = rows.Select(r => r.Label).OfType<string>().Where(l => !classes.Contains(l)).Distinct().ToList();
            if (unknown.Count > 0) throw new CliUsageException($"labels not in --classes ({string.Join(", ", classes)}): {string.Join(", ", unknown)}");
        }

        Directory.CreateDirectory(options.OutputDirectory);
        if (test.Count > 0) DetectorData.WriteJsonl(Path.Combine(options.OutputDirectory, "heldout.jsonl"), test);
        if (validationFile is null && validationFraction > 0) DetectorData.WriteJsonl(Path.Combine(options.OutputDirectory, "validation.jsonl"), validation);
        await context.Out.WriteLineAsync($"training {(options.Adversarial ? "GAN-BERT" : "supervised-only")} ({backbone}) on {train.Count} rows" +
            $" ({options.LabeledFraction:P0} of labels kept), choosing the epoch on {validation.Count} validation rows" +
            (test.Count > 0 ? $", testing on {test.Count}" : "") + $"; up to {options.Epochs} epochs" +
            (options.Patience > 0 ? $", patience {options.Patience}" : "") + $" -> {options.OutputDirectory}");

        TrainingOutcome outcome;
        if (context.Interactive)
        {
            outcome = null!;
            AnsiConsole.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("epoch 1", maxValue: 1);
                    var pace = new TrainingPace();
                    var progress = new InlineProgress<TrainingProgress>(p =>
                    {
                        long done = (long)(p.Epoch - 1) * p.Steps + p.Step;
                        var (rate, _) = pace.Observe(done, (long)p.Epochs * p.Steps);
                        task.Description = $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.Steps} L_D {p.DiscriminatorLoss:F3} L_G {p.GeneratorLoss:F3} {rate:F2} step/s";
                        task.Value = (p.Epoch - 1 + (double)p.Step / p.Steps) / p.Epochs;
                    });
                    outcome = DetectorTrainer.Train(options, train, validation, test, progress, context.Cancellation);
                });
        }
        else
        {
            var lines = new ProgressLines(context.Out, progressEvery);
            var progress = new InlineProgress<TrainingProgress>(p => lines.Report(p.Epoch, p.Epochs, p.Step, p.Steps,
                (long)(p.Epoch - 1) * p.Steps + p.Step, (long)p.Epochs * p.Steps, $"L_D {p.DiscriminatorLoss:F3} L_G {p.GeneratorLoss:F3}"));
            outcome = DetectorTrainer.Train(options, train, validation, test, progress, context.Cancellation);
        }

        foreach (var h in outcome.History)
            await context.Out.WriteLineAsync($"epoch {h.Epoch}: L_D {h.DiscriminatorLoss:F4} L_G {h.GeneratorLoss:F4} L_sup {h.SupervisedLoss:F4} " +
                $"train acc {h.TrainAccuracy:F3}" + (h.ValidationAccuracy is { } v ? $" validation acc {v:F3} macro-F1 {h.ValidationMacroF1:F3}" : "") +
                (h.TestAccuracy is { } t ? $" test acc {t:F3} macro-F1 {h.TestMacroF1:F3}" : "") + $" ({h.Seconds:F0}s)" +
                (h.Health is { } g ? $" GAN: {g}" : "") +
                (h.Epoch == outcome.BestEpoch ? "  <- chosen" : ""));
        await context.Out.WriteLineAsync($"chosen epoch {outcome.BestEpoch} of {outcome.History.Count} ({outcome.Selection})" +
            (outcome.StoppedEarly ? $"; stopped early (patience {options.Patience})" : ""));
        var plots = DetectorPlots.TrainingCurves(outcome.History, options.OutputDirectory, $"{(options.Adversarial ? "GAN-BERT" : "supervised")} {backbone}");
        await context.Out.WriteLineAsync($"detector {outcome.Config.ModelVersion} written to {options.OutputDirectory}; curves: {string.Join(", ", plots)}");
        return await CalibrateAndGateAsync(options.OutputDirectory, options.Placement, validation, test, margin, force, shortTextAccuracy, context);
    }

    /// <summary>
    /// After training: fits the calibration on the validation split (when there is one), then gates the detector on the
    /// held-out split (else the validation split) and stores the figures in its config. 1 when the gate refuses without --force.
    /// </summary>
    static async Task<int> CalibrateAndGateAsync(string directory, TorchPlacement placement, IReadOnlyList<LabelledText> validation,
        IReadOnlyList<LabelledText> test, double margin, bool force, double shortTextAccuracy, CliContext context)
    {
        using var detector = GanBertDetector.Load(directory, placement);
        if (detector.Config.RealClass is null)
            // "Which model wrote this?" among machines only (e.g. ArguGPT): no P(person) to calibrate; the gate still applies.
            await context.Out.WriteLineAsync($"no human class among {string.Join(", ", detector.Classes)}: no real-or-fake calibration (the detector names models only)");
        else if (validation.Count > 0)
        {
            var (calibration, report) = DetectorCalibrationFit.Fit(detector, validation, shortTextAccuracy);
            calibration.Write(directory);
            await context.Out.WriteLineAsync(CalibrateDetectorVerb.Describe(calibration, report, "validation"));
        }
        else await context.Out.WriteLineAsync("no validation split: no calibration fitted (the raw softmax is served; calibrate-detector fits one later)");

        var (rows, split) = test.Count > 0 ? (test, "held-out") : (validation, "validation");
        var figures = DetectorGate.Evaluate(detector, rows, split, margin);
        if (figures is null)
        {
            await context.Out.WriteLineAsync("gate: not checked (no held-out or validation texts; give --group-field/--test-fraction or --validation-fraction)");
            return 0;
        }
        if (figures.Passed)
        {
            DetectorGate.Store(directory, figures);
            await context.Out.WriteLineAsync($"gate passed: {figures.Describe()}");
            return 0;
        }
        DetectorGate.Store(directory, figures with { Forced = force });
        if (force)
        {
            await context.Out.WriteLineAsync($"gate refused, kept because of --force: {figures.Describe()}");
            return 0;
        }
        await context.Error.WriteLineAsync($"train-detector: gate refused: {figures.Describe()}. The detector in {directory} is " +
            "no better than always answering the most frequent class; models register will refuse it too. Train longer or on more " +
            "balanced data, or keep it anyway with --force.");
        return 1;
    }
}
