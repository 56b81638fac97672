using GanBertBots.Conversation;
using GanBertBots.Training.Scheduling;

namespace GanBertBots.Host.Retraining;

/// <summary>
/// The conversation core's moderator commands (/retrain, /promote, /rollback, /stats' last evaluation) on the
/// retraining part. Register after <c>AddRetraining</c>: <c>services.AddSingleton&lt;IModelOperations, RetrainingModelOperations&gt;()</c>.
/// </summary>
public sealed class RetrainingModelOperations(RetrainingCommands commands) : IModelOperations
{
    public Task<string> RetrainAsync(ChatUser requestedBy, CancellationToken cancellationToken) =>
        commands.RetrainAsync(requestedBy.QualifiedId, cancellationToken);

    public Task<string> PromoteAsync(ChatUser requestedBy, string? version, CancellationToken cancellationToken) =>
        commands.PromoteAsync(requestedBy.QualifiedId, version, cancellationToken);

    public Task<string> RollbackAsync(ChatUser requestedBy, CancellationToken cancellationToken) =>
        commands.RollbackAsync(requestedBy.QualifiedId, null, cancellationToken);

    public Task<string?> LastEvaluationAsync(CancellationToken cancellationToken) => Task.FromResult(commands.LastEvaluation());
}
