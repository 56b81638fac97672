using System.Text.Json;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Training.Rounds;

namespace GanBertBots.Training.Generator;

/// <summary>Real tweets for a round: what the MLE term trains on, and the held-out set perplexity is measured on.</summary>
public sealed record RealTweets(IReadOnlyList<TweetExample> Train, IReadOnlyList<TweetExample> HeldOut);

/// <summary>
/// The generator's steps of the adversarial round: sampling tweets from the live generator (step 1),
/// policy-gradient fine-tuning against the new detector (step 3), and perplexity + fool rate (step 4).
/// </summary>
/// <param name="keywords">Keyword prompts to draw from (e.g. the corpus' disaster keywords).</param>
/// <param name="realTweets">Loads the real tweets when a round needs them.</param>
public sealed class Gpt2RoundSteps(IReadOnlyList<string> keywords, Func<CancellationToken, Task<RealTweets>> realTweets,
    PolicyGradientOptions tuning, TorchPlacement placement, int foolRateSamples = 64, BaseEncoderFolders? encoders = null)
    : IGeneratorSampler, IGeneratorTrainer
{
    public Task<IReadOnlyList<string>> SampleAsync(string generatorDirectory, int count, int seed, CancellationToken cancellation) =>
        Task.Run(() =>
        {
            using var generator = TextGenerator.Load(generatorDirectory, placement);
            return Sample(generator, count, seed, cancellation);
        }, cancellation);

    IReadOnlyList<string> Sample(TextGenerator generator, int count, int seed, CancellationToken cancellation)
    {
        if (keywords.Count == 0) throw new InvalidOperationException("no keywords to prompt the generator with");
        var rng = new Random(seed);
        var tweets = new List<string>(count);
        for (int start = 0; start < count; start += 16)
        {
            cancellation.ThrowIfCancellationRequested();
            var prompts = Enumerable.Range(0, Math.Min(16, count - start)).Select(_ => TweetComposer.Compose(keywords[rng.Next(keywords.Count)])).ToList();
            var completions = generator.Generate(prompts.Select(p => p.PromptText).ToList(),
                TweetComposer.DefaultOptions with
                {
                    // A seed per tweet: keywords repeat, and equal prompts under one seed give one text.
                    PromptSeeds = Enumerable.Range(0, prompts.Count).Select(i => seed * 1_000_003L + start + i).ToList(),
                }, cancellation: cancellation, prependEndOfText: true);
            tweets.AddRange(completions.Select((c, i) => TweetComposer.Finish(prompts[i], c.Text)).Where(t => t.Length > 0));
        }
        return tweets;
    }

    public async Task TrainAsync(GeneratorTrainingRequest request, CancellationToken cancellation)
    {
        var real = await realTweets(cancellation);
        await Task.Run(() =>
        {
            var tokenizer = Gpt2Tokenizer.Load(request.LiveGeneratorDirectory);
            using var policy = Gpt2Checkpoint.Load(request.LiveGeneratorDirectory, placement);
            using var reference = Gpt2Checkpoint.Load(request.LiveGeneratorDirectory, placement);
            using var detector = GanBertDetector.Load(request.DetectorDirectory, placement, encoderDirectories: encoders?.Directories);
            var tuner = new PolicyGradientTuner(policy, reference, tokenizer, new DetectorReward(detector), tuning with { Seed = request.Seed });
            var history = tuner.Train(keywords.Cast<string?>().ToList(), real.Train, cancellation: cancellation);
            Gpt2Checkpoint.Save(policy, request.OutputDirectory);
            GeneratorTrainer.CopyTokenizerFiles(request.LiveGeneratorDirectory, request.OutputDirectory);
            Directory.CreateDirectory(request.ReportDirectory);
            File.WriteAllText(Path.Combine(request.ReportDirectory, "generator-tuning.json"),
                JsonSerializer.Serialize(history, new JsonSerializerOptions { WriteIndented = true }));
        }, cancellation);
    }

    public async Task<GeneratorScore> EvaluateAsync(string generatorDirectory, string detectorDirectory, int seed, CancellationToken cancellation)
    {
        var real = await realTweets(cancellation);
        return await Task.Run(() =>
        {
            using var generator = TextGenerator.Load(generatorDirectory, placement);
            var ids = real.HeldOut.Select(e => CausalLm.Encode(generator.Tokenizer, e, generator.Model.Config.MaxPositions)).ToList();
            double perplexity = ids.Count == 0 ? double.NaN : GeneratorTrainer.Perplexity(generator.Model, ids, 16, generator.Tokenizer.EndOfTextId);
            var tweets = Sample(generator, foolRateSamples, seed, cancellation);
            using var detector = GanBertDetector.Load(detectorDirectory, placement, encoderDirectories: encoders?.Directories);
            var scores = new DetectorReward(detector).Score(tweets);
            double foolRate = scores.Count == 0 ? double.NaN : scores.Count(s => s > 0.5) / (double)scores.Count;
            return new GeneratorScore(perplexity, foolRate)
            {
                Extra = new Dictionary<string, double> { ["mean_p_human"] = scores.Count == 0 ? double.NaN : scores.Average() },
            };
        }, cancellation);
    }

    /// <summary>The detector's probability that a person wrote each tweet.</summary>
    public sealed class DetectorReward(GanBertDetector detector) : ITweetReward
    {
        public IReadOnlyList<double> Score(IReadOnlyList<string> tweets)
        {
            var nonEmpty = tweets.Select(t => string.IsNullOrWhiteSpace(t) ? "." : t).ToList();   // the detector refuses empty texts
            return detector.Detect(nonEmpty).Select(r => r.Real ?? throw new InvalidOperationException(
                $"detector {detector.ModelVersion} has no '{detector.Config.RealClass}' class, so it cannot reward human-looking tweets")).ToList();
        }
    }
}
