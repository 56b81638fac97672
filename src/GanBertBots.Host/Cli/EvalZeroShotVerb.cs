using GanBertBots.Inference;
using GanBertBots.Models;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.ZeroShot;
using GanBertBots.Training.Data;
using GanBertBots.Training.Detector;
using GanBertBots.Training.ZeroShot;

namespace GanBertBots.Host.Cli;

/// <summary><c>eval-zero-shot</c>: AUROC of the GPT-2 zero-shot score (Fast-DetectGPT's analytical discrepancy) on labelled texts.</summary>
public sealed class EvalZeroShotVerb : ICliVerb
{
    public string Name => "eval-zero-shot";
    public string Summary => "AUROC of the zero-shot score of a GPT-2 (no training): human vs each other class and vs all";
    public string Usage => """
        Usage: ganbertbots eval-zero-shot --scorer DIR --data FILE [options]
          --scorer DIR            GPT-2 checkpoint that scores (config.json, model.safetensors, tokenizer files)
          --data FILE             .jsonl or .csv, one text a row
          --text-field F          column with the text (default text)
          --label-field F         column with the class (default label); every class but --human counts as machine
          --human L               the human class (default human)
          --generate N            also sample N tweets from the scorer with the tweet preset and N with the same preset
                                  without its repetition penalty, and score them against the human rows; then every
                                  row of --data is human unless --label-field is given
          --keyword-field F       topics for --generate (default keyword; rows without one ask for anything)
          --repetition-penalty R  the penalty of the preset's samples (default the tweet preset's, 1.1)
          --max-per-class N       score at most the first N texts of each class
          --batch-size B (16)  --seed S (1234)  --threads N  --device auto|cpu|cuda
        """;

    public static string PresetLabel(double penalty) => $"sampled, tweet preset (repetition penalty {penalty.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)})";
    public const string NoPenaltyLabel = "sampled, tweet preset without repetition penalty";

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args);
        string scorerDir = a.Require("scorer"), data = a.Require("data");
        string textField = a.Get("text-field") ?? "text";
        string? labelFieldGiven = a.Get("label-field");
        string human = a.Get("human") ?? "human";
        int generate = a.GetInt("generate", 0);
        string keywordField = a.Get("keyword-field") ?? "keyword";
        int? maxPerClass = a.GetIntOrNull("max-per-class");
        double penalty = a.GetDouble("repetition-penalty", new TweetSettings().RepetitionPenalty);
        int batch = a.GetInt("batch-size", 16);
        long seed = a.GetLong("seed", 1234);
        int? threads = a.GetIntOrNull("threads");
        var placement = TorchPlacement.Resolve(a.Get("device") ?? "auto", "float32");
        a.RejectUnknown();
        if (generate < 0) throw new CliUsageException($"--generate must not be negative (got {generate})");
        if (penalty <= 0) throw new CliUsageException($"--repetition-penalty must be above 0 (got {penalty})");
        if (batch < 1) throw new CliUsageException($"--batch-size must be at least 1 (got {batch})");
        if (maxPerClass is < 1) throw new CliUsageException($"--max-per-class must be at least 1 (got {maxPerClass})");
        if (threads is { } t)
        {
            if (t < 1) throw new CliUsageException($"--threads must be at least 1 (got {t})");
            TorchSharp.torch.set_num_threads(t);
        }
        if (TextGenerator.Check(scorerDir) is { IsLoadable: false } check)
            throw new UserFacingException($"{scorerDir}: not a GPT-2 checkpoint with a tokenizer ({check.Describe()})");

        bool allHuman = generate > 0 && labelFieldGiven is null;
        var rows = DetectorData.Load(data, textField, allHuman ? null : labelFieldGiven ?? "label")
            .Select(r => allHuman ? r with { Label = human } : r).ToList();

        using var generator = TextGenerator.Load(scorerDir, placement);
        if (generate > 0)
        {
            var topics = ReadTopics(data, keywordField, generate);
            var tweets = new Gpt2TweetModel(generator);   // not disposed here: it would dispose the generator, still needed to score
            var preset = new TweetSettings { Seed = seed };
            rows.AddRange(Sample(tweets, topics, preset with { RepetitionPenalty = penalty }, batch, context.Cancellation)
                .Select(x => new LabelledText(x, PresetLabel(penalty))));
            rows.AddRange(Sample(tweets, topics, preset with { RepetitionPenalty = 1.0 }, batch, context.Cancellation)
                .Select(x => new LabelledText(x, NoPenaltyLabel)));
        }
        if (maxPerClass is int max)
            rows = rows.GroupBy(r => r.Label).SelectMany(g => g.Take(max)).ToList();

        var scorer = new TextScorer(generator.Model, generator.Tokenizer);
        await context.Out.WriteLineAsync($"scorer {generator.ModelVersion} ({generator.Model.Config.Layers} layers, {generator.Model.Config.Embedding} wide) on {data}");
        var report = ZeroShotEvaluation.Evaluate(scorer, rows, human, batch, cancellationToken: context.Cancellation);
        await context.Out.WriteAsync(report.Format());
        return 0;
    }

    static List<string?> ReadTopics(string data, string keywordField, int count)
    {
        var keywords = TextTable.Read(data).Select(r => r.GetValueOrDefault(keywordField)).ToList();
        return Enumerable.Range(0, count).Select(i => keywords.Count == 0 ? null
            : keywords[i % keywords.Count] is { Length: > 0 } k ? Uri.UnescapeDataString(k) : null).ToList();
    }

    static List<string> Sample(Gpt2TweetModel tweets, List<string?> topics, TweetSettings settings, int batch, CancellationToken cancellation)
    {
        var texts = new List<string>();
        for (int i = 0; i < topics.Count; i += batch)
            texts.AddRange(tweets.GenerateBatch(topics.Skip(i).Take(batch).ToList(), settings with { Seed = settings.Seed + i }, null, cancellation)
                .Select(x => x.Text));
        return texts;
    }
}
