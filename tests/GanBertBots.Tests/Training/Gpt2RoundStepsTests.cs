using GanBertBots.Models.GanBert;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Generator;
using GanBertBots.Training.Rounds;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Training;

/// <summary>The generator's steps of the adversarial round on real (tiny) checkpoints: a GPT-2 and a GAN-BERT detector.</summary>
public sealed class Gpt2RoundStepsTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("roundgen").FullName;
    public void Dispose() { try { Directory.Delete(_root, true); } catch (IOException) { } }

    (string Generator, string Detector) Checkpoints()
    {
        string gen = Path.Combine(_root, "gen");
        ByteTokenizer.Write(gen);
        using (var model = new Gpt2LMHeadModel(GeneratorTrainingOptions.ScratchConfig("tiny", 259, 258, positions: 96)))
        {
            TinyGpt2.Randomise(model, seed: 2, scale: 0.02);
            Gpt2Checkpoint.Save(model, gen);
        }
        string det = Path.Combine(_root, "det");
        string vocab = SyntheticDetector.WriteVocab(_root);
        var (network, config, _) = SyntheticDetector.Untrained(vocab, seed: 4);
        using (network) DetectorCheckpoint.Save(det, config, network, vocab);
        return (gen, det);
    }

    static readonly RealTweets Real = new(
        Enumerable.Range(0, 12).Select(i => new TweetExample("fire", $"the fire is out {i}")).ToList(),
        Enumerable.Range(0, 6).Select(i => new TweetExample("flood", $"the flood is here {i}")).ToList());

    Gpt2RoundSteps Steps() => new(new[] { "fire", "flood" }, _ => Task.FromResult(Real),
        new PolicyGradientOptions { Steps = 2, SamplesPerStep = 4, MaxNewTokens = 8, LearningRate = 1e-3, MleBatchSize = 4 },
        TorchPlacement.Cpu, foolRateSamples: 8);

    [Fact]
    public async Task Samples_are_reproducible_tweets_and_evaluation_scores_them_with_the_detector()
    {
        var (gen, det) = Checkpoints();
        var steps = Steps();
        var a = await steps.SampleAsync(gen, 5, seed: 9, CancellationToken.None);
        Assert.Equal(a, await steps.SampleAsync(gen, 5, seed: 9, CancellationToken.None));
        Assert.All(a, t => Assert.InRange(t.Length, 1, 280));

        var eval = await steps.EvaluateAsync(gen, det, seed: 3, CancellationToken.None);
        Assert.True(double.IsFinite(eval.Perplexity) && eval.Perplexity > 1);
        Assert.InRange(eval.FoolRate, 0, 1);
        // The fool rate is the share of the same samples the detector calls human.
        using var detector = GanBertDetector.Load(det, TorchPlacement.Cpu);
        var samples = await steps.SampleAsync(gen, 8, seed: 3, CancellationToken.None);
        double expected = detector.Detect(samples).Count(r => r.Real > 0.5) / (double)samples.Count;
        Assert.Equal(expected, eval.FoolRate, 10);
    }

    [Fact]
    public async Task Tuning_writes_a_complete_candidate_that_differs_from_the_live_generator()
    {
        var (gen, det) = Checkpoints();
        string output = Path.Combine(_root, "candidate"), report = Path.Combine(_root, "report");
        Directory.CreateDirectory(output);
        await Steps().TrainAsync(new GeneratorTrainingRequest(gen, det, output, report, Seed: 1), CancellationToken.None);
        using var live = Gpt2Checkpoint.Load(gen);
        using var candidate = Gpt2Checkpoint.Load(output);
        Assert.False(live.Weights().TokenEmbedding.equal(candidate.Weights().TokenEmbedding).all().item<bool>(), "tuning should move the weights");
        Assert.True(File.Exists(Path.Combine(output, "vocab.json")));
        Assert.True(File.Exists(Path.Combine(report, "generator-tuning.json")));
    }
}
