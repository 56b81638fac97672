using GanBertBots.Models;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Training.Data;
using GanBertBots.Training.Generator;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Host.Cli;

/// <summary><c>train-generator</c>: causal-LM training of GPT-2 on a tweet corpus.</summary>
public sealed class TrainGeneratorVerb : ICliVerb
{
    public string Name => "train-generator";
    public string Summary => "Train the GPT-2 tweet generator on a corpus (from a checkpoint or from scratch)";
    public string Usage => """
        Usage: ganbertbots train-generator --data FILE --from (DIR | scratch:SIZE) --out DIR [options]
          --data FILE             .csv (header row) or .jsonl; the disaster tweets train.csv works as is
          --text-field F          column with the tweet (default text)
          --keyword-field F       column with the keyword (default keyword; absent or empty is fine)
          --from DIR              start from a GPT-2 checkpoint (e.g. models/gpt2 or models/distilgpt2)
          --from scratch:SIZE     a new model: tiny, small, medium or gpt2 (needs --tokenizer)
          --tokenizer DIR         GPT-2 tokenizer files (default: the --from checkpoint)
          --out DIR               checkpoint written after every epoch (Hugging Face layout)
          --epochs N (3)  --batch-size B (16)  --accumulate N (1)  --lr X (5e-4)  --warmup F (0.05)
          --clip X (1.0)  --block-size N (96)  --held-out F (0.05)  --max-examples N  --seed S (1234)
          --resume                continue from the last finished epoch in --out
          --progress-every N      when the output is not a terminal: a progress line (loss, step/s, ETA) every N optimiser
                                  steps (default 10; also the first step and each epoch's last); a terminal gets a progress bar
          --device auto|cpu|cuda
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "resume");
        string data = a.Require("data"), from = a.Require("from"), outDir = a.Require("out");
        string textField = a.Get("text-field") ?? "text", keywordField = a.Get("keyword-field") ?? "keyword";
        string? tokenizerDir = a.Get("tokenizer");
        double heldOutShare = a.GetDouble("held-out", 0.05);
        int? maxExamples = a.GetIntOrNull("max-examples");
        bool resume = a.Flag("resume");
        var options = new GeneratorTrainingOptions
        {
            Epochs = a.GetInt("epochs", 3), BatchSize = a.GetInt("batch-size", 16), GradientAccumulation = a.GetInt("accumulate", 1),
            LearningRate = a.GetDouble("lr", 5e-4), WarmupFraction = a.GetDouble("warmup", 0.05), ClipNorm = a.GetDouble("clip", 1.0),
            BlockSize = a.GetInt("block-size", 96), Seed = a.GetLong("seed", 1234),
        };
        var placement = TorchPlacement.Resolve(a.Get("device"), "float32");
        int progressEvery = ProgressLines.Every(a);
        a.RejectUnknown();
        try { options.Validate(); } catch (ArgumentException e) { throw new CliUsageException(e.Message); }
        if (heldOutShare is < 0 or >= 1) throw new CliUsageException("--held-out must be in [0, 1)");

        bool scratch = from.StartsWith("scratch:", StringComparison.OrdinalIgnoreCase);
        tokenizerDir ??= scratch ? throw new CliUsageException("--from scratch:SIZE needs --tokenizer DIR (GPT-2 vocab.json + merges.txt, or encoder.json + vocab.bpe as in ../shared/data/gpt2-tokenizer)") : from;
        var tokenizer = Gpt2Tokenizer.Load(tokenizerDir);

        // Data: split by a fixed shuffle, so the held-out set is the same on every run and resume.
        List<TweetExample> all;
        try
        {
            all = TextTable.Read(data)
                .Select(r => new TweetExample(r.GetValueOrDefault(keywordField), r.TryGetValue(textField, out var t) ? t
                    : throw new UserFacingException($"{data}: no '{textField}' field (use --text-field)")))
                .Where(e => !string.IsNullOrWhiteSpace(e.Text))
                .ToList();
        }
        catch (Exception e) when (e is FormatException or FileNotFoundException) { throw new UserFacingException(e.Message, e); }
        new Random(7).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(all));
        if (maxExamples is int m) all = all.Take(m).ToList();
        int heldOutCount = (int)Math.Round(all.Count * heldOutShare);
        var heldOut = all.Take(heldOutCount).ToList();
        var train = all.Skip(heldOutCount).ToList();
        if (train.Count == 0) throw new UserFacingException($"{data}: no training examples left (found {all.Count})");

        bool resuming = resume && GeneratorTrainer.TrainerState.TryLoad(outDir) is not null;
        Gpt2LMHeadModel model;
        if (resuming) model = Gpt2Checkpoint.Load(outDir, placement);
        else if (scratch)
        {
            manual_seed(options.Seed);
            string size = from["scratch:".Length..];
            try { model = new Gpt2LMHeadModel(GeneratorTrainingOptions.ScratchConfig(size, tokenizer.VocabSize, tokenizer.EndOfTextId)); }
            catch (ArgumentException e) { throw new CliUsageException(e.Message); }
            model.to(placement.Device);
        }
        else model = Gpt2Checkpoint.Load(from, placement);

        using (model)
        {
            var trainer = new GeneratorTrainer(model, tokenizer, tokenizerDir, options);
            context.Out.WriteLine($"train-generator: {train.Count} training and {heldOut.Count} held-out tweets; " +
                                  $"{model.parameters().Sum(p => p.numel()) / 1e6:F1}M parameters on {placement}" + (resuming ? "; resuming" : ""));
            if (heldOut.Count > 0 && !resuming)
                context.Out.WriteLine($"held-out perplexity before training: {trainer.Perplexity(heldOut):F2}");
            List<GeneratorEpochRecord> history;
            if (context.Interactive)
            {
                history = null!;
                AnsiConsole.Progress().AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("training", maxValue: 1);
                        var pace = new TrainingPace();
                        string perplexity = "";
                        var progress = new InlineProgress<GeneratorTrainingProgress>(p =>
                        {
                            if (p.HeldOutPerplexity is double ppl) perplexity = $" ppl {ppl:F1}";
                            var (rate, _) = pace.Observe(p.Step, p.TotalSteps);
                            task.Description = $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} {rate:F2} step/s{perplexity}";
                            task.Value = (double)p.Step / Math.Max(1, p.TotalSteps);
                        });
                        history = trainer.Train(train, heldOut, outDir, resume, progress, context.Cancellation).ToList();
                    });
            }
            else
            {
                var lines = new ProgressLines(context.Out, progressEvery);
                var progress = new InlineProgress<GeneratorTrainingProgress>(p =>
                {
                    if (p.HeldOutPerplexity is double ppl)
                        context.Out.WriteLine($"epoch {p.Epoch}/{p.Epochs}: step {p.Step}/{p.TotalSteps}, loss {p.Loss:F4}, held-out perplexity {ppl:F2}");
                    else
                        lines.Report(p.Epoch, p.Epochs, p.Step, p.TotalSteps, p.Step, p.TotalSteps, $"loss {p.Loss:F4} lr {p.LearningRate:E2}");
                });
                history = trainer.Train(train, heldOut, outDir, resume, progress, context.Cancellation).ToList();
            }
            context.Out.WriteLine("| epoch | step | train loss | held-out perplexity |");
            context.Out.WriteLine("|------:|-----:|-----------:|--------------------:|");
            foreach (var h in history)
                context.Out.WriteLine($"| {h.Epoch,5} | {h.Step,4} | {h.TrainLoss,10:F4} | {h.HeldOutPerplexity,19:F2} |");
            context.Out.WriteLine($"checkpoint: {Path.GetFullPath(outDir)}");
        }
        return Task.FromResult(0);
    }
}
