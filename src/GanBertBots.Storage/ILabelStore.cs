namespace GanBertBots.Storage;

/// <summary>
/// Everything users and moderators give us, and the texts they judged. Every write is one transaction,
/// committed before the method returns. Failures surface as <see cref="StorageException"/> (database
/// unavailable, newer schema, statement failed) or <see cref="ArgumentException"/> (bad input, unknown text).
/// Implementations: <see cref="SqliteLabelStore"/>, <see cref="PostgresLabelStore"/>; open one with
/// <see cref="LabelStore.OpenAsync"/>.
/// </summary>
public interface ILabelStore : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres".</summary>
    string Provider { get; }

    /// <summary>Applies pending migrations (done by <see cref="LabelStore.OpenAsync"/>; safe to call again). Returns the schema version.</summary>
    Task<int> MigrateAsync(CancellationToken cancellation = default);

    // ---- texts ----
    /// <summary>Keeps a text, deduplicated by content hash: an identical text returns the existing id.</summary>
    Task<TextKept> AddTextAsync(NewText text, CancellationToken cancellation = default);
    /// <summary>Keeps many texts in one transaction (corpus import), deduplicated by content hash.</summary>
    Task<TextsKept> AddTextsAsync(IReadOnlyList<NewText> texts, CancellationToken cancellation = default);
    Task<StoredText?> GetTextAsync(long textId, CancellationToken cancellation = default);
    Task<StoredText?> FindTextAsync(string content, CancellationToken cancellation = default);
    /// <summary>
    /// A random text of one origin (the game: <see cref="TextOrigin.Corpus"/>, <see cref="TextOrigin.Generated"/>); null when there
    /// is none. Corpus texts only where the import knew who wrote them (<see cref="StoredText.WrittenBy"/> set).
    /// </summary>
    Task<StoredText?> GetRandomTextAsync(TextOrigin origin, CancellationToken cancellation = default);
    /// <summary>Up to <paramref name="count"/> distinct random corpus texts whose writer the import knew (the game's harder and easier rounds choose among them).</summary>
    Task<IReadOnlyList<StoredText>> GetRandomCorpusTextsAsync(int count, CancellationToken cancellation = default);
    /// <summary>
    /// Texts nobody has labelled yet (GAN-BERT's unlabelled term), oldest first, after <paramref name="afterTextId"/>
    /// (for paging). Origins default to <see cref="TextOrigin.UserSubmitted"/>.
    /// </summary>
    Task<IReadOnlyList<StoredText>> GetUnlabelledTextsAsync(int limit, long afterTextId = 0,
        IReadOnlyCollection<TextOrigin>? origins = null, CancellationToken cancellation = default);
    /// <summary>
    /// Texts of one origin, labelled or not, oldest first, after <paramref name="afterTextId"/> (for paging):
    /// e.g. the imported corpus, whose real tweets the adversarial round trains on.
    /// </summary>
    Task<IReadOnlyList<StoredText>> GetTextsAsync(TextOrigin origin, int limit, long afterTextId = 0,
        CancellationToken cancellation = default);

    // ---- predictions ----
    Task<long> AddPredictionAsync(NewPrediction prediction, CancellationToken cancellation = default);
    Task<IReadOnlyList<StoredPrediction>> GetPredictionsAsync(long textId, CancellationToken cancellation = default);

    // ---- labels ----
    /// <summary>Keeps a label (registering the person if new). Returns the label id.</summary>
    Task<long> AddLabelAsync(NewLabel label, CancellationToken cancellation = default);
    Task<IReadOnlyList<StoredLabel>> GetLabelsAsync(long textId, CancellationToken cancellation = default);
    /// <summary>All labels with their texts, oldest first, optionally only from some sources.</summary>
    IAsyncEnumerable<LabelForTraining> ExportLabelsAsync(IReadOnlyCollection<LabelSource>? sources = null,
        CancellationToken cancellation = default);

    // ---- review queue ----
    /// <summary>
    /// The next text no moderator has labelled and this moderator has not skipped: user-submitted texts
    /// first, then generated, then corpus; oldest first within each. Null when the queue is empty.
    /// </summary>
    Task<StoredText?> GetNextForReviewAsync(UserKey moderator, CancellationToken cancellation = default);
    /// <summary>Remembers that this moderator skipped this text, so it is not offered to them again.</summary>
    Task SkipForReviewAsync(UserKey moderator, long textId, CancellationToken cancellation = default);

    // ---- users ----
    /// <summary>Registers a person or updates their display name (when given) and role (when given).</summary>
    Task<UserAccount> UpsertUserAsync(UserKey user, string? displayName = null, UserRole? role = null,
        CancellationToken cancellation = default);
    Task<UserAccount?> GetUserAsync(UserKey user, CancellationToken cancellation = default);

    /// <summary>
    /// Deletes what a person gave: the texts they submitted (with everything said about them), every label, guess, skip
    /// and score of theirs, and their account. Tweets generated at their request stay, unlinked from them. Returns the counts.
    /// </summary>
    Task<ForgetReport> ForgetUserAsync(UserKey user, CancellationToken cancellation = default);

    /// <summary>Deletes submitted texts that arrived before <paramref name="before"/> and have no label (<c>Storage:RetentionDays</c>); returns how many.</summary>
    Task<int> PurgeUnlabelledSubmittedTextsAsync(DateTimeOffset before, CancellationToken cancellation = default);
    Task<IReadOnlyList<UserAccount>> GetUsersInRoleAsync(UserRole role, CancellationToken cancellation = default);

    // ---- game ----
    /// <summary>
    /// Keeps the guess as a <see cref="LabelSource.GameGuess"/> label and counts it, in one transaction; at most once
    /// per player and text (a unique key in the database, so this holds across replicas). A second guess on the same
    /// text changes nothing and returns the score with <see cref="GameScore.AlreadyCounted"/> set.
    /// </summary>
    Task<GameScore> RecordGameGuessAsync(GameGuess guess, CancellationToken cancellation = default);
    Task<GameScore?> GetGameScoreAsync(UserKey player, CancellationToken cancellation = default);
    /// <summary>The best guessers in one chat (platform-qualified id), by right guesses there, then fewest played.</summary>
    Task<IReadOnlyList<ChatStanding>> GetChatLeaderboardAsync(string chat, int count, CancellationToken cancellation = default);
    /// <summary>Best players by correct guesses.</summary>
    Task<IReadOnlyList<GameScore>> GetTopGameScoresAsync(int count, CancellationToken cancellation = default);

    // ---- stats ----
    Task<StoreStats> GetStatsAsync(CancellationToken cancellation = default);
}
