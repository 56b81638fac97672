namespace GanBertBots.Models.Hub;

public enum PullStage
{
    /// <summary>A file's transfer begins (<see cref="PullProgress.Received"/> &gt; 0 when it resumes a partial file).</summary>
    Started,
    /// <summary>More bytes arrived.</summary>
    Transferring,
    /// <summary>The transfer failed transiently; it is tried again after a pause (<see cref="PullProgress.Message"/> says why).</summary>
    Retrying,
    /// <summary>The file is complete and verified.</summary>
    Completed,
    /// <summary>An optional file the repository does not have.</summary>
    Skipped,
    /// <summary>Verified earlier (an interrupted pull), not downloaded again.</summary>
    AlreadyPresent,
}

/// <summary>One progress report of <see cref="CheckpointDownloader.PullAsync"/>.</summary>
/// <param name="Total">Bytes expected, when the hub said.</param>
public sealed record PullProgress(string File, PullStage Stage, long Received, long? Total, string? Message = null);

/// <summary>What a pull did.</summary>
/// <param name="Directory">The model directory (complete and verified when the pull returns).</param>
/// <param name="AlreadyExisted">True when the directory existed and nothing was downloaded (no --force).</param>
/// <param name="Files">Files now in the directory; optional files the repository lacks are not listed.</param>
public sealed record PullResult(string Directory, HubCheckpoint Checkpoint, CheckpointFamily? Family, bool AlreadyExisted,
    IReadOnlyList<string> Files, IReadOnlyList<string> SkippedOptionalFiles, long BytesDownloaded);
