using GanBertBots.Models.Generation;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.ZeroShot;

namespace GanBertBots.Inference;

/// <summary>
/// The GPT-2 generator behind the inference service: topics become tweet prompts (<see cref="TweetComposer"/>), one
/// batched <see cref="TextGenerator.Generate"/> call answers them all, and each tweet is finished to at most 280
/// characters, also while it streams.
/// </summary>
public sealed class Gpt2TweetModel(TextGenerator generator, string? servedVersion = null) : ITweetModel, ITextExplainer
{
    TextScorer? _scorer;

    /// <param name="servedVersion">The name it is served under (a registry version); default the checkpoint's own.</param>
    public static Gpt2TweetModel Load(string checkpointDirectory, TorchPlacement placement, string? servedVersion = null) =>
        new(TextGenerator.Load(checkpointDirectory, placement), servedVersion);

    public TextGenerator Generator => generator;
    public string ModelVersion => servedVersion ?? generator.ModelVersion;

    public static GenerationOptions OptionsFor(TweetSettings settings) => TweetComposer.DefaultOptions with
    {
        MaxNewTokens = settings.MaxNewTokens,
        Temperature = settings.Temperature,
        TopK = settings.TopK,
        TopP = settings.TopP,
        RepetitionPenalty = settings.RepetitionPenalty,
        Seed = settings.Seed,
    };

    public IReadOnlyList<GeneratedTweet> GenerateBatch(IReadOnlyList<string?> topics, TweetSettings settings,
        Action<int, string>? onPartialText, CancellationToken cancellationToken)
    {
        // One over-long topic must not fail the batch it shares with others: cut it here (the chat core already limits it).
        var prompts = topics.Select(t => TweetComposer.Compose(t is { Length: > TweetComposer.MaxTopicLength } ? t[..TweetComposer.MaxTopicLength] : t)).ToList();
        var options = OptionsFor(settings);
        var tweets = new GeneratedTweet[prompts.Count];
        var todo = Enumerable.Range(0, prompts.Count).ToList();
        // A tweet is never empty: the prompts whose tweet came out empty are sampled again, at most MaxResamples times
        // (a fixed seed moves on by one per try, so the same request still gives the same tweet).
        for (int attempt = 0; attempt <= MaxResamples && todo.Count > 0; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var current = todo;
            var tryOptions = settings.Seed is { } seed
                ? options with { Seed = seed + attempt }
                // Without a seed, every request gets its own: two people asking for the same topic in one batch
                // must not receive the same tweet. With one, the same topic and seed give the same tweet.
                : options with { PromptSeeds = current.Select(_ => Random.Shared.NextInt64(1L << 52)).ToList() };
            Action<TokenEvent>? onToken = onPartialText is null ? null
                : e => onPartialText(current[e.PromptIndex], TweetComposer.Finish(prompts[current[e.PromptIndex]], e.TextSoFar));
            var completions = generator.Generate(current.Select(i => prompts[i].PromptText).ToList(), tryOptions, onToken,
                cancellationToken, prependEndOfText: true);
            foreach (var c in completions)
            {
                int i = current[c.PromptIndex];
                tweets[i] = new GeneratedTweet(TweetComposer.Finish(prompts[i], c.Text), prompts[i].PromptText, c.FinishReason, c.GeneratedIds.Length);
            }
            todo = current.Where(i => string.IsNullOrWhiteSpace(tweets[i]?.Text)).ToList();
        }
        return tweets;
    }

    /// <summary>How many times a prompt whose tweet came out empty is sampled again before the empty tweet is returned.</summary>
    public const int MaxResamples = 3;

    /// <summary>The same GPT-2 read as a zero-shot scorer (Fast-DetectGPT's score and GLTR's ranks; see <see cref="TextScorer"/>).</summary>
    public IReadOnlyList<TextEvidence> ExplainBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        _scorer ??= new TextScorer(generator.Model, generator.Tokenizer);
        return _scorer.Score(texts, cancellationToken).Select(s => TextEvidenceReading.From(s, ModelVersion)).ToList();
    }

    public void Dispose() => generator.Dispose();
}
