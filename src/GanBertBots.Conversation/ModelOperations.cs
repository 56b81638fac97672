namespace GanBertBots.Conversation;

/// <summary>
/// The moderator commands that act on models (/retrain, /promote, /rollback) and the last evaluation shown by
/// /stats. The retraining part implements this; until then <see cref="ModelOperationsNotAvailable"/> answers.
/// </summary>
public interface IModelOperations
{
    /// <summary>Starts a retraining round; returns what to tell the moderator.</summary>
    Task<string> RetrainAsync(ChatUser requestedBy, CancellationToken cancellationToken);
    /// <summary>Promotes a candidate version (null: the latest) to serving; returns what to tell the moderator.</summary>
    Task<string> PromoteAsync(ChatUser requestedBy, string? version, CancellationToken cancellationToken);
    /// <summary>Goes back to the previously served version; returns what to tell the moderator.</summary>
    Task<string> RollbackAsync(ChatUser requestedBy, CancellationToken cancellationToken);
    /// <summary>One or two lines about the last evaluation, or null when there was none.</summary>
    Task<string?> LastEvaluationAsync(CancellationToken cancellationToken);
}

public sealed class ModelOperationsNotAvailable : IModelOperations
{
    const string NotYet = "Retraining, promotion and rollback are not available yet in this version.";
    public Task<string> RetrainAsync(ChatUser requestedBy, CancellationToken cancellationToken) => Task.FromResult(NotYet);
    public Task<string> PromoteAsync(ChatUser requestedBy, string? version, CancellationToken cancellationToken) => Task.FromResult(NotYet);
    public Task<string> RollbackAsync(ChatUser requestedBy, CancellationToken cancellationToken) => Task.FromResult(NotYet);
    public Task<string?> LastEvaluationAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}
