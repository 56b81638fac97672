using GanBertBots.Models.Generation;
using GanBertBots.Models.Runtime;

namespace GanBertBots.Inference;

/// <summary>
/// The GPT-2 generator behind the inference service: topics become tweet prompts (<see cref="TweetComposer"/>), one
/// batched <see cref="TextGenerator.Generate"/> call answers them all, and each tweet is finished to at most 280
/// characters, also while it streams.
/// </summary>
public sealed class Gpt2TweetModel(TextGenerator generator, string? servedVersion = null) : ITweetModel
{
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
        Action<TokenEvent>? onToken = onPartialText is null ? null
            : e => onPartialText(e.PromptIndex, TweetComposer.Finish(prompts[e.PromptIndex], e.TextSoFar));
        var options = OptionsFor(settings);
        // Without a seed, every request gets its own: two people asking for the same topic in one batch
        // must not receive the same tweet. With one, the same topic and seed give the same tweet.
        if (settings.Seed is null) options = options with { PromptSeeds = prompts.Select(_ => Random.Shared.NextInt64(1L << 52)).ToList() };
        var completions = generator.Generate(prompts.Select(p => p.PromptText).ToList(), options, onToken,
            cancellationToken, prependEndOfText: true);
        return completions.Select(c => new GeneratedTweet(TweetComposer.Finish(prompts[c.PromptIndex], c.Text),
            prompts[c.PromptIndex].PromptText, c.FinishReason, c.GeneratedIds.Length)).ToList();
    }

    public void Dispose() => generator.Dispose();
}
