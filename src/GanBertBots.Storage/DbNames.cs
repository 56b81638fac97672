namespace GanBertBots.Storage;

/// <summary>How the product's enums are spelled in the database (readable, stable across renames in code).</summary>
static class DbNames
{
    public static string Of(TextOrigin origin) => origin switch
    {
        TextOrigin.UserSubmitted => "user_submitted",
        TextOrigin.Generated => "generated",
        TextOrigin.Corpus => "corpus",
        _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, "unknown text origin"),
    };

    public static string Of(LabelSource source) => source switch
    {
        LabelSource.Moderator => "moderator",
        LabelSource.UserFeedback => "user_feedback",
        LabelSource.GameGuess => "game_guess",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown label source"),
    };

    public static string Of(UserRole role) => role switch
    {
        UserRole.User => "user",
        UserRole.Moderator => "moderator",
        UserRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown role"),
    };

    public static TextOrigin Origin(string s) => Parse<TextOrigin>(s, Of, "text origin");
    public static LabelSource Source(string s) => Parse<LabelSource>(s, Of, "label source");
    public static UserRole Role(string s) => Parse<UserRole>(s, Of, "role");

    /// <summary>An SQL list literal of the given names, e.g. <c>('user_submitted', 'corpus')</c>. Only enum names, never user input.</summary>
    public static string InList<T>(IEnumerable<T> values, Func<T, string> name) =>
        "(" + string.Join(", ", values.Select(v => "'" + name(v) + "'")) + ")";

    static T Parse<T>(string s, Func<T, string> name, string what) where T : struct, Enum
    {
        foreach (var v in Enum.GetValues<T>())
            if (name(v) == s) return v;
        throw new StorageException($"the database holds an unknown {what} '{s}' (written by a newer version?)");
    }
}
