namespace GanBertBots.Storage;

/// <summary>
/// The label store could not do what was asked: the database is unreachable ("database unavailable: ..."),
/// its schema is newer than this build, or a statement failed. Never a raw provider exception.
/// </summary>
public sealed class StorageException : Exception
{
    public StorageException(string message) : base(message) { }
    public StorageException(string message, Exception inner) : base(message, inner) { }
}
