using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Training.Generator;

/// <summary>Scores finished tweets; for the adversarial round, the detector's P(human) of each.</summary>
public interface ITweetReward
{
    IReadOnlyList<double> Score(IReadOnlyList<string> tweets);
}

public sealed record PolicyGradientOptions
{
    /// <summary>Optimiser steps.</summary>
    public int Steps { get; init; } = 30;
    /// <summary>Tweets sampled per step.</summary>
    public int SamplesPerStep { get; init; } = 16;
    public int MaxNewTokens { get; init; } = 40;
    /// <summary>
    /// Sampling settings of the tuning samples: by default the product's tweet preset (TweetComposer.DefaultOptions), so
    /// the reward is earned on the tweets users get. Sampling the raw policy instead (temperature 1, no top-k/top-p)
    /// was measured to reward-hack: a small detector trained on preset samples called those off-distribution tails
    /// human (mean reward 0.9) while the preset's tweets still fooled it 2-5% of the time. The REINFORCE term uses
    /// the policy's untruncated log-probabilities of the sampled tokens.
    /// </summary>
    public double Temperature { get; init; } = TweetComposer.DefaultOptions.Temperature;
    public int TopK { get; init; } = TweetComposer.DefaultOptions.TopK;
    public double TopP { get; init; } = TweetComposer.DefaultOptions.TopP;
    public double RepetitionPenalty { get; init; } = TweetComposer.DefaultOptions.RepetitionPenalty;
    public double LearningRate { get; init; } = 2e-5;
    /// <summary>Adaptive KL penalty to the round's starting generator: start value and target (TRL's PPO defaults: 0.2 and 6).</summary>
    public double InitialKlCoefficient { get; init; } = 0.2;
    public double TargetKl { get; init; } = 6.0;
    /// <summary>Samples over which the KL coefficient may change by about the clipped error (TRL: 10,000).</summary>
    public double KlHorizon { get; init; } = 10_000;
    /// <summary>Weight of the maximum-likelihood term on real tweets that keeps the generator fluent.</summary>
    public double MleWeight { get; init; } = 0.5;
    public int MleBatchSize { get; init; } = 8;
    /// <summary>Momentum of the running score mean and variance (the normaliser) and of the running reward mean (the baseline).</summary>
    public double BaselineMomentum { get; init; } = 0.9;
    public double ClipNorm { get; init; } = 1.0;
    public long Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentException("Steps must be at least 1");
        if (SamplesPerStep < 1) throw new ArgumentException("SamplesPerStep must be at least 1");
        if (MaxNewTokens < 1) throw new ArgumentException("MaxNewTokens must be at least 1");
        if (!(Temperature > 0)) throw new ArgumentException("Temperature must be positive");
        if (!(LearningRate > 0)) throw new ArgumentException("LearningRate must be positive");
        if (InitialKlCoefficient < 0 || !(TargetKl > 0) || !(KlHorizon > 0))
            throw new ArgumentException("InitialKlCoefficient must be 0 or more, TargetKl and KlHorizon positive");
        if (MleWeight < 0) throw new ArgumentException("MleWeight must be 0 or more");
        if (MleBatchSize < 1) throw new ArgumentException("MleBatchSize must be at least 1");
        if (BaselineMomentum is < 0 or >= 1) throw new ArgumentException("BaselineMomentum must be in [0, 1)");
        if (ClipNorm < 0) throw new ArgumentException("ClipNorm must be 0 (off) or more");
    }
}

/// <summary>One optimiser step's figures.</summary>
/// <param name="FoolRate">Share of the step's samples the reward model took for human (score above 0.5).</param>
public sealed record PolicyGradientStep(int Step, double MeanReward, double FoolRate, double MeanKl, double KlCoefficient, double MleLoss);

/// <summary>
/// Fine-tunes the generator to raise a reward computed on its sampled tweets (the detector's
/// P(human)) - REINFORCE on normalised scores minus an adaptive KL penalty to the round's starting
/// generator, against a running-mean baseline, plus an MLE term on real tweets. Sampling is
/// discrete, so no gradient flows from the detector into the generator: the reward only weights
/// the log-probabilities of what was sampled.
/// </summary>
public sealed class PolicyGradientTuner
{
    readonly Gpt2LMHeadModel _policy;
    readonly Gpt2LMHeadModel _reference;
    readonly Gpt2Tokenizer _tokenizer;
    readonly ITweetReward _reward;
    readonly PolicyGradientOptions _options;
    readonly AdaptiveKlController _kl;
    double _scoreMean, _scoreVariance = 1, _baseline;
    bool _started;

    /// <param name="policy">The generator to tune (trained in place).</param>
    /// <param name="reference">A frozen copy of the round's starting generator (for the KL penalty); never changed.</param>
    public PolicyGradientTuner(Gpt2LMHeadModel policy, Gpt2LMHeadModel reference, Gpt2Tokenizer tokenizer, ITweetReward reward, PolicyGradientOptions options)
    {
        if (ReferenceEquals(policy, reference)) throw new ArgumentException("the reference must be a separate, frozen copy of the policy");
        _policy = policy;
        _reference = reference;
        _tokenizer = tokenizer;
        _reward = reward;
        _options = options;
        _kl = new AdaptiveKlController(options.InitialKlCoefficient, options.TargetKl, options.KlHorizon);
        foreach (var p in _reference.parameters()) p.requires_grad = false;
        _reference.eval();
    }

    public double KlCoefficient => _kl.Value;

    public IReadOnlyList<PolicyGradientStep> Train(IReadOnlyList<string?> keywords, IReadOnlyList<TweetExample> realTweets,
        IProgress<PolicyGradientStep>? progress = null, CancellationToken cancellation = default)
    {
        if (keywords.Count == 0) throw new ArgumentException("no keywords to prompt with");
        var rng = new Random((int)_options.Seed);
        using var sampler = new Gpt2Generator(_policy);
        using var optimizer = new AdamW(_policy.parameters(), lr: _options.LearningRate, weight_decay: 0.0);
        var history = new List<PolicyGradientStep>();
        var mleIds = realTweets.Select(EncodeReal).ToList();

        for (int step = 0; step < _options.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            // 1. Sample tweets from the current policy.
            var prompts = Enumerable.Range(0, _options.SamplesPerStep)
                .Select(_ => TweetComposer.Compose(keywords[rng.Next(keywords.Count)]))
                .ToList();
            var promptIds = prompts.Select(p => _tokenizer.Encode(p.PromptText).Prepend(_tokenizer.EndOfTextId).ToArray()).ToList();
            _policy.eval();
            var samples = sampler.Generate(promptIds, new GenerationOptions
            {
                Temperature = _options.Temperature, TopK = _options.TopK, TopP = _options.TopP,
                RepetitionPenalty = _options.RepetitionPenalty, MaxNewTokens = _options.MaxNewTokens,
                // A seed per sample: prompts repeat (a few keywords), and equal prompts under one seed give one text.
                PromptSeeds = Enumerable.Range(0, prompts.Count).Select(i => (_options.Seed * 100_003L + step) * 4096 + i).ToList(),
            }, cancellation: cancellation);
            var tweets = samples.Select((s, i) => TweetComposer.Finish(prompts[i],
                _tokenizer.Decode(s.GeneratedIds.Where(t => t != _tokenizer.EndOfTextId)))).ToList();

            // 2. Score them.
            var scores = _reward.Score(tweets);
            if (scores.Count != tweets.Count) throw new InvalidOperationException($"the reward model scored {scores.Count} of {tweets.Count} tweets");

            // 3. One REINFORCE + KL + MLE step.
            _policy.train();
            optimizer.zero_grad();
            var record = Step(samples, scores, mleIds, rng, step);
            if (_options.ClipNorm > 0) nn.utils.clip_grad_norm_(_policy.parameters(), _options.ClipNorm);
            optimizer.step();
            history.Add(record);
            progress?.Report(record);
        }
        _policy.eval();
        return history;
    }

    PolicyGradientStep Step(IReadOnlyList<GeneratedSequence> samples, IReadOnlyList<double> scores, List<int[]> mleIds, Random rng, int step)
    {
        using var scope = NewDisposeScope();
        var device = _policy.Device;
        var (ids, targets, generatedMask) = Batch(samples, device);

        // Log-probabilities of the sampled tokens: [B, T] under the policy (with gradient) and the reference.
        var policyLogp = TokenLogProbs(_policy, ids, targets);
        Tensor referenceLogp;
        using (no_grad()) referenceLogp = TokenLogProbs(_reference, ids, targets);
        var policySum = (policyLogp * generatedMask).sum(1);                                       // [B]
        // [B], sample estimate of KL. Samples come from the tempered, top-k/top-p truncated policy, not the raw one,
        // so the estimate is biased and single samples can be negative; the adaptive coefficient only needs its trend.
        var kl = ((policyLogp.detach() - referenceLogp) * generatedMask).sum(1);
        double[] klPerSample = kl.to(ScalarType.Float64).cpu().data<double>().ToArray();

        // The detector's scores are normalised by their running mean and spread (so the KL coefficient
        // means the same whatever the scores' scale), then the KL penalty is subtracted, and the advantage
        // is that reward against its running mean (the baseline). The KL term is not rescaled: when the
        // scores carry no signal (all equal), the penalty stays as small as its coefficient says instead of
        // being blown up to unit size by the normalisation.
        double scoreMean = scores.Average();
        double scoreVar = scores.Select(x => (x - scoreMean) * (x - scoreMean)).Average();
        if (!_started) { _scoreMean = scoreMean; _scoreVariance = scoreVar; }
        var rewards = scores.Select((x, i) => (x - _scoreMean) / Math.Sqrt(_scoreVariance + 1e-8) - _kl.Value * klPerSample[i]).ToArray();
        double rewardMean = rewards.Average();
        if (!_started) { _baseline = rewardMean; _started = true; }
        var advantages = rewards.Select(r => r - _baseline).ToArray();
        double m = _options.BaselineMomentum;
        _scoreMean = m * _scoreMean + (1 - m) * scoreMean;
        _scoreVariance = m * _scoreVariance + (1 - m) * scoreVar;
        _baseline = m * _baseline + (1 - m) * rewardMean;

        var advantage = tensor(advantages.Select(a => (float)a).ToArray(), device: device);
        var pgLoss = -(advantage * policySum).mean();

        // Keep it fluent: maximum likelihood on a batch of real tweets.
        double mleValue = 0;
        var loss = pgLoss;
        if (_options.MleWeight > 0 && mleIds.Count > 0)
        {
            var rows = Enumerable.Range(0, Math.Min(_options.MleBatchSize, mleIds.Count)).Select(_ => mleIds[rng.Next(mleIds.Count)]).ToList();
            var mle = CausalLm.Loss(_policy, rows, _tokenizer.EndOfTextId);
            mleValue = mle.item<float>();
            loss = loss + _options.MleWeight * mle;
        }
        loss.backward();

        double meanKl = klPerSample.Average();
        _kl.Update(meanKl, samples.Count);
        return new PolicyGradientStep(step + 1, scores.Average(), scores.Count(s => s > 0.5) / (double)scores.Count, meanKl, _kl.Value, mleValue);
    }

    /// <summary>log p(target | prefix) for each position: [B, T].</summary>
    static Tensor TokenLogProbs(Gpt2LMHeadModel model, Tensor ids, Tensor targets)
    {
        var logits = model.forward(ids);                                                           // [B, T, V]
        return logits.log_softmax(-1).gather(2, targets.clamp_min(0).unsqueeze(2)).squeeze(2);     // [B, T]
    }

    /// <summary>
    /// Prompt + generated ids right-padded into [B, T]: inputs, next-token targets, and a
    /// mask that is 1 where the target is a generated token (not prompt, not padding).
    /// </summary>
    (Tensor Ids, Tensor Targets, Tensor GeneratedMask) Batch(IReadOnlyList<GeneratedSequence> samples, Device device)
    {
        var full = samples.Select(s => s.PromptIds.Concat(s.GeneratedIds).ToArray()).ToList();
        int t = full.Max(f => f.Length) - 1;
        int b = full.Count;
        var ids = new long[b * t]; var targets = new long[b * t]; var mask = new float[b * t];
        for (int r = 0; r < b; r++)
        {
            int promptLen = samples[r].PromptIds.Length;
            for (int j = 0; j < t; j++)
            {
                int at = r * t + j;
                ids[at] = j < full[r].Length ? full[r][j] : _tokenizer.EndOfTextId;
                bool hasTarget = j + 1 < full[r].Length;
                targets[at] = hasTarget ? full[r][j + 1] : -1;
                mask[at] = hasTarget && j + 1 >= promptLen ? 1 : 0;
            }
        }
        return (tensor(ids, new long[] { b, t }, device: device), tensor(targets, new long[] { b, t }, device: device),
                tensor(mask, new long[] { b, t }, device: device));
    }

    int[] EncodeReal(TweetExample e) =>
        CausalLm.Encode(_tokenizer, e, Math.Min(_policy.Config.MaxPositions, _options.MaxNewTokens * 3) + 1);
}

/// <summary>
/// The adaptive KL coefficient of Ziegler et al. (2019), as TRL's PPO uses it: after each batch,
/// the coefficient is multiplied by 1 + clip(KL / target - 1, -0.2, 0.2) x samples / horizon, so it
/// grows while the policy drifts further than the target and shrinks while it stays closer.
/// </summary>
public sealed class AdaptiveKlController(double initial, double target, double horizon)
{
    public double Value { get; private set; } = initial;

    public void Update(double meanKl, int samples)
    {
        double error = Math.Clamp(meanKl / target - 1, -0.2, 0.2);
        Value *= 1 + error * samples / horizon;
    }
}
