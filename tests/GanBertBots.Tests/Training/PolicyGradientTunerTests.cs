using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Training.Generator;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Training;

/// <summary>Seeds torch's process-wide generator before building its models (and dropout draws from it): runs alone,
/// like the other seed-dependent tests, so a parallel class cannot draw from it in between.</summary>
[Collection(GanBertBots.Tests.Detector.TorchRandomSequence.Name)]
public class PolicyGradientTunerTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("pgtune").FullName;
    public void Dispose() { try { Directory.Delete(_root, true); } catch (IOException) { } }

    /// <summary>
    /// A stand-in detector: the share of lower-case ASCII letters in the tweet. An untrained byte-level
    /// model writes about one in ten (26 of 259 tokens), so the signal is there from the first step
    /// whatever the random initialisation (a single letter, one token in 259, left it to luck).
    /// </summary>
    sealed class LetterReward : ITweetReward
    {
        public IReadOnlyList<double> Score(IReadOnlyList<string> tweets) =>
            tweets.Select(t => t.Length == 0 ? 0.0 : t.Count(c => c is >= 'a' and <= 'z') / (double)t.Length).ToList();
    }

    (Gpt2LMHeadModel Policy, Gpt2LMHeadModel Reference, Gpt2Tokenizer Tokenizer) Models()
    {
        var tok = Gpt2Tokenizer.Load(ByteTokenizer.Write(Path.Combine(_root, "tok")));
        var config = GeneratorTrainingOptions.ScratchConfig("tiny", tok.VocabSize, tok.EndOfTextId, positions: 64);
        manual_seed(11);
        var policy = new Gpt2LMHeadModel(config);
        var reference = new Gpt2LMHeadModel(config);
        reference.load_state_dict(policy.state_dict());
        return (policy, reference, tok);
    }

    static readonly PolicyGradientOptions Fast = new()
    {
        Steps = 30, SamplesPerStep = 16, MaxNewTokens = 10, LearningRate = 1e-2, InitialKlCoefficient = 0.01,
        MleWeight = 0, Seed = 5,
    };

    [Fact]
    public void The_reward_of_sampled_tweets_rises_and_the_reference_stays_frozen()
    {
        var (policy, reference, tok) = Models();
        using var p = policy; using var r = reference;
        var before = reference.parameters().Select(x => x.detach().clone()).ToList();
        var history = new PolicyGradientTuner(policy, reference, tok, new LetterReward(), Fast)
            .Train(new[] { "fire", "flood" }, Array.Empty<TweetExample>());
        Assert.Equal(30, history.Count);
        // First five steps against the other twenty-five: once the stand-in reward saturates (all letters), the
        // adaptive KL penalty is meant to pull the policy back towards the reference, so the last few steps
        // alone may dip; the run as a whole must still have climbed.
        double early = history.Take(5).Average(h => h.MeanReward), late = history.Skip(5).Average(h => h.MeanReward);
        Assert.True(late > early + 0.25,
            $"reward should rise: first steps {early:F4}, later steps {late:F4}; all: {string.Join(" ", history.Select(h => h.MeanReward.ToString("F2")))}");
        Assert.True(history[^1].MeanKl > 0, "the policy moved away from the reference");
        foreach (var (a, b) in before.Zip(reference.parameters()))
            Assert.True(a.equal(b).all().item<bool>(), "the reference model must not change");
    }

    [Fact]
    public void The_kl_coefficient_adapts_towards_the_target()
    {
        var kl = new AdaptiveKlController(0.2, target: 6, horizon: 10_000);
        kl.Update(meanKl: 12, samples: 100);                 // error clipped to +0.2
        Assert.Equal(0.2 * (1 + 0.2 * 100 / 10_000.0), kl.Value, 12);
        double v = kl.Value;
        kl.Update(meanKl: 4.5, samples: 100);                // error -0.25 clipped to -0.2
        Assert.Equal(v * (1 - 0.2 * 100 / 10_000.0), kl.Value, 12);
        v = kl.Value;
        kl.Update(meanKl: 6.6, samples: 50);                 // error +0.1
        Assert.Equal(v * (1 + 0.1 * 50 / 10_000.0), kl.Value, 12);
    }

    [Fact]
    public void The_mle_term_keeps_likelihood_of_real_tweets()
    {
        // The same start, the same samples and rewards, with and without the MLE term: with it, real
        // tweets must stay more likely than without it.
        var (policy, reference, tok) = Models();
        using var p = policy; using var r = reference;
        using var plain = new Gpt2LMHeadModel(policy.Config);
        plain.load_state_dict(policy.state_dict());
        var real = Enumerable.Range(0, 20).Select(i => new TweetExample("fire", "the fire is out")).ToList();
        var ids = real.Select(e => CausalLm.Encode(tok, e, 64)).ToList();
        double before = GeneratorTrainer.Perplexity(policy, ids, 8);
        var options = Fast with { Steps = 15, LearningRate = 3e-3 };
        new PolicyGradientTuner(policy, reference, tok, new LetterReward(), options with { MleWeight = 1.0 }).Train(new[] { "fire" }, real);
        new PolicyGradientTuner(plain, reference, tok, new LetterReward(), options with { MleWeight = 0.0 }).Train(new[] { "fire" }, real);
        double withMle = GeneratorTrainer.Perplexity(policy, ids, 8), withoutMle = GeneratorTrainer.Perplexity(plain, ids, 8);
        Assert.True(withMle < 0.8 * withoutMle,
            $"MLE on real tweets should keep them likely: perplexity {before:F1} before, {withMle:F1} with the MLE term, {withoutMle:F1} without");
    }
}
