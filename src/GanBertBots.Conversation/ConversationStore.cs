namespace GanBertBots.Conversation;

public enum TextOrigin { UserSubmitted, Generated, Corpus }

public enum LabelSource { Moderator, UserFeedback, GameGuess }

public enum UserRole { User, Moderator }

/// <summary>A text to keep: what a user submitted, what the generator wrote, or a corpus tweet.</summary>
/// <param name="SubmittedBy">Platform-qualified user id ("telegram:12345") for user texts.</param>
/// <param name="GenerationSettings">For generated texts: the sampling settings, as JSON.</param>
public sealed record NewText(string Content, TextOrigin Origin, string? SubmittedBy = null, string? ModelVersion = null,
    string? Prompt = null, string? GenerationSettings = null);

/// <summary>A kept text. <see cref="Prompt"/> is the topic a generated text was asked for.</summary>
public sealed record StoredText(long Id, string Content, TextOrigin Origin, string? ModelVersion, string? Prompt);

/// <summary>What the detector said about a kept text.</summary>
public sealed record NewPrediction(long TextId, string Label, double RealProbability, IReadOnlyList<GanBertBots.Inference.ClassProbability> Probabilities, string ModelVersion);

/// <summary>A judgement by a person: a moderator's label, a user's feedback on a verdict or tweet, a game guess.</summary>
public sealed record NewLabel(long TextId, string UserId, UserRole Role, string Label, LabelSource Source);

public sealed record LabelStatistics(long Texts, long UnlabelledTexts, IReadOnlyDictionary<LabelSource, long> LabelsBySource);

public sealed record GameScore(int Correct, int Played);

/// <summary>
/// What the conversation core needs from the label store. Every write is committed before the call returns,
/// so the core acknowledges only what is durable.
/// </summary>
public interface IConversationStore
{
    Task RecordUserAsync(string userId, string displayName, UserRole role, CancellationToken cancellationToken);
    Task<long> AddTextAsync(NewText text, CancellationToken cancellationToken);
    Task<StoredText?> GetTextAsync(long id, CancellationToken cancellationToken);
    Task AddPredictionAsync(NewPrediction prediction, CancellationToken cancellationToken);
    /// <summary>Stores a label. Returns false (and stores nothing) when this user already gave a label of this source to this text.</summary>
    Task<bool> AddLabelAsync(NewLabel label, CancellationToken cancellationToken);
    /// <summary>The oldest text without a moderator label, other than <paramref name="skipped"/>; null when none is left.</summary>
    Task<StoredText?> NextUnlabelledAsync(IReadOnlyCollection<long> skipped, CancellationToken cancellationToken);
    /// <summary>A random corpus tweet (written by a person) for the game; null when no corpus was imported.</summary>
    Task<StoredText?> RandomCorpusTextAsync(CancellationToken cancellationToken);
    Task<LabelStatistics> GetStatisticsAsync(CancellationToken cancellationToken);
    /// <summary>Game guesses of this user: right (corpus text guessed real, generated text guessed fake) and all.</summary>
    Task<GameScore> GetGameScoreAsync(string userId, CancellationToken cancellationToken);
}
