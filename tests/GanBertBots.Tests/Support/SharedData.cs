namespace GanBertBots.Tests.Support;

/// <summary>
/// Locates the real public data set beside the repository (<c>../shared/data</c>), or where
/// GANBERTBOTS_SHARED_DATA points. A user's clone has no such folder: tests that need it skip
/// with a message saying so (see <see cref="SharedDataFactAttribute"/>).
/// </summary>
public static class SharedData
{
    public static string? Root { get; } = Find();

    static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("GANBERTBOTS_SHARED_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return Path.GetFullPath(env);
        // Walk up from the test binary to the repository root (the folder with GanBertBots.sln), then ../shared/data.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GanBertBots.sln")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
                return Directory.Exists(candidate) ? candidate : null;
            }
        }
        return null;
    }

    /// <summary>Full path of a file or folder under shared/data, or null when absent.</summary>
    public static string? PathTo(string relative)
    {
        if (Root is null) return null;
        string p = Path.Combine(Root, relative);
        return File.Exists(p) || Directory.Exists(p) ? p : null;
    }

    /// <summary>Like <see cref="PathTo"/>, for use inside a test already guarded by the attribute.</summary>
    public static string Require(string relative) =>
        PathTo(relative) ?? throw new InvalidOperationException($"shared data '{relative}' missing");

    public static string? SkipReason(string relative) =>
        PathTo(relative) is null
            ? $"needs ../shared/data/{relative} (the public data set beside the repository, or GANBERTBOTS_SHARED_DATA); not present here"
            : null;
}

/// <summary>A fact that skips, with a clear message, when a shared-data path is absent.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute(params string[] paths)
    {
        foreach (var p in paths)
            if (SharedData.SkipReason(p) is { } reason) { Skip = reason; break; }
    }
}

/// <summary>A theory that skips, with a clear message, when a shared-data path is absent.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute(params string[] paths)
    {
        foreach (var p in paths)
            if (SharedData.SkipReason(p) is { } reason) { Skip = reason; break; }
    }
}
