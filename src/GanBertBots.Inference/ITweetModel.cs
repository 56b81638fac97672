namespace GanBertBots.Inference;

/// <summary>One generated tweet from a batch call.</summary>
/// <param name="Text">The finished tweet (cut cleanly, at most 280 characters).</param>
/// <param name="Prompt">The prompt text the model was given.</param>
public sealed record GeneratedTweet(string Text, string Prompt, string FinishReason, int GeneratedTokens);

/// <summary>
/// A tweet generator behind the inference service. Called only from the service's worker thread, one batch at a
/// time; disposed on that thread after it has been swapped out.
/// </summary>
public interface ITweetModel : IDisposable
{
    string ModelVersion { get; }
    /// <summary>One tweet per topic, in order.</summary>
    /// <param name="topics">Keywords or free prompts; null or empty for "anything".</param>
    /// <param name="onPartialText">Called with (index in <paramref name="topics"/>, tweet text so far) as tokens arrive.</param>
    IReadOnlyList<GeneratedTweet> GenerateBatch(IReadOnlyList<string?> topics, TweetSettings settings,
        Action<int, string>? onPartialText, CancellationToken cancellationToken);
}
