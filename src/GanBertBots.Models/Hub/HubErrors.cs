namespace GanBertBots.Models.Hub;

/// <summary>The hub could not be reached at all (no network, wrong address, server down).</summary>
public sealed class HubUnreachableException : UserFacingException
{
    public HubUnreachableException(string message) : base(message) { }
    public HubUnreachableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A downloaded file does not match the size or checksum the hub announced; it was discarded.</summary>
public sealed class DownloadIntegrityException(string message) : UserFacingException(message);
