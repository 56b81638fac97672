namespace GanBertBots.Storage;

/// <summary>Where a text came from.</summary>
public enum TextOrigin { UserSubmitted, Generated, Corpus }

/// <summary>How a label was obtained.</summary>
public enum LabelSource { Moderator, UserFeedback, GameGuess }

/// <summary>What a person may do. Kept in the <c>roles</c> table; recorded on every label.</summary>
public enum UserRole { User, Moderator, Admin }

/// <summary>A person on one platform: ("telegram", "123456789").</summary>
public sealed record UserKey(string Platform, string PlatformUserId)
{
    public override string ToString() => $"{Platform}:{PlatformUserId}";
}

/// <summary>Where a message was seen, when known.</summary>
public sealed record MessageRef(string Platform, string? ChatId, string? MessageId);

/// <summary>A text to keep. <see cref="ModelVersion"/> and <see cref="GenerationSettingsJson"/> describe generated texts.</summary>
public sealed record NewText(string Content, TextOrigin Origin)
{
    public MessageRef? Message { get; init; }
    public UserKey? SubmittedBy { get; init; }
    public string? ModelVersion { get; init; }
    /// <summary>JSON object with the sampling settings (temperature, top-k, prompt, seed, ...).</summary>
    public string? GenerationSettingsJson { get; init; }
    /// <summary>For corpus texts: the file or data set name.</summary>
    public string? CorpusName { get; init; }
    /// <summary>For corpus texts: the label the corpus gives (e.g. the disaster tweets' target), as written there.</summary>
    public string? CorpusLabel { get; init; }
    /// <summary>
    /// For corpus texts: who wrote it, as the import determined it ("human", or a machine class such as "chatGPT");
    /// null when not known (the game and the rounds leave such texts out).
    /// </summary>
    public string? WrittenBy { get; init; }
}

/// <summary>A stored text.</summary>
public sealed record StoredText(
    long Id, string Content, string ContentHash, TextOrigin Origin, MessageRef? Message, UserKey? SubmittedBy,
    string? ModelVersion, string? GenerationSettingsJson, string? CorpusName, string? CorpusLabel, DateTimeOffset CreatedAt,
    string? WrittenBy = null)
{
    /// <summary>The class of the writer of a corpus text that people wrote.</summary>
    public const string Human = "human";

    /// <summary>A corpus text that a person wrote (by the import's account).</summary>
    public bool IsHumanCorpusText => Origin == TextOrigin.Corpus && string.Equals(WrittenBy, Human, StringComparison.OrdinalIgnoreCase);

    /// <summary>A corpus text that a machine wrote (by the import's account).</summary>
    public bool IsMachineCorpusText => Origin == TextOrigin.Corpus && WrittenBy is not null && !IsHumanCorpusText;
}

/// <summary>Result of keeping a text: its id, and whether it was new or already there (same content hash).</summary>
public sealed record TextKept(long TextId, bool IsNew);

/// <summary>What the detector said about a text.</summary>
public sealed record NewPrediction(long TextId, string ModelVersion, string Label, IReadOnlyDictionary<string, double> Probabilities);

public sealed record StoredPrediction(
    long Id, long TextId, string ModelVersion, string Label, IReadOnlyDictionary<string, double> Probabilities, DateTimeOffset PredictedAt);

/// <summary>
/// A person's judgement of a text. One label per (text, person, source): a second one from the same
/// person and source replaces the class, weight and time (the latest judgement counts).
/// </summary>
public sealed record NewLabel(long TextId, UserKey Who, UserRole Role, string Class, LabelSource Source, double Weight)
{
    public string? DisplayName { get; init; }

    /// <summary>Default weights: a moderator's word counts most, a game guess least.</summary>
    public static double DefaultWeight(LabelSource source) => source switch
    {
        LabelSource.Moderator => 1.0,
        LabelSource.UserFeedback => 0.5,
        _ => 0.25,
    };
}

public sealed record StoredLabel(
    long Id, long TextId, UserKey Who, UserRole Role, string Class, LabelSource Source, double Weight, DateTimeOffset LabelledAt);

/// <summary>A label with its text, for training and audit (<c>export-labels</c>).</summary>
public sealed record LabelForTraining(
    long LabelId, long TextId, string Text, TextOrigin Origin, string Class, LabelSource Source,
    UserKey Who, UserRole Role, double Weight, DateTimeOffset LabelledAt);

/// <summary>A registered person.</summary>
public sealed record UserAccount(long Id, UserKey Key, string? DisplayName, UserRole Role, DateTimeOffset FirstSeen);

/// <summary>A real-or-fake guess in the game: kept as a <see cref="LabelSource.GameGuess"/> label and counted in the score.</summary>
public sealed record GameGuess(long TextId, UserKey Player, string GuessedClass, bool Correct)
{
    public string? DisplayName { get; init; }
    /// <summary>The platform-qualified chat the round was played in ("telegram:-100123"), for that chat's leaderboard.</summary>
    public string? Chat { get; init; }
    public double Weight { get; init; } = NewLabel.DefaultWeight(LabelSource.GameGuess);
}

public sealed record GameScore(UserKey Player, string? DisplayName, long Played, long Correct, DateTimeOffset UpdatedAt)
{
    /// <summary>
    /// Set only by <see cref="ILabelStore.RecordGameGuessAsync"/>: this player's guess on this text had already been
    /// recorded, so this call counted nothing and changed neither the label nor the score (which is returned as it stands).
    /// </summary>
    public bool AlreadyCounted { get; init; }

    /// <summary>Set only by <see cref="ILabelStore.RecordGameGuessAsync"/>: right guesses in a row, this one included (0 after a wrong one).</summary>
    public int Streak { get; init; }
}

/// <summary>Label count of one class from one source.</summary>
public sealed record LabelCount(LabelSource Source, string Class, long Count);

/// <summary>What /stats shows.</summary>
public sealed record StoreStats(
    IReadOnlyList<LabelCount> Labels,
    IReadOnlyDictionary<TextOrigin, long> TextsByOrigin,
    long Predictions,
    long Labellers)
{
    public long TotalLabels => Labels.Sum(l => l.Count);
    public long LabelsFrom(LabelSource source) => Labels.Where(l => l.Source == source).Sum(l => l.Count);
    public long TotalTexts => TextsByOrigin.Values.Sum();
}

/// <summary>Result of keeping many texts at once (corpus import).</summary>
public sealed record TextsKept(int Added, int Duplicates);

/// <summary>What <see cref="ILabelStore.ForgetUserAsync"/> deleted: submitted texts, labels given, game guesses.</summary>
public sealed record ForgetReport(int Texts, int Labels, int Guesses);

/// <summary>One player's line on a chat's leaderboard: guesses made in that chat and how many were right.</summary>
public sealed record ChatStanding(UserKey Player, string? DisplayName, long Played, long Correct);
