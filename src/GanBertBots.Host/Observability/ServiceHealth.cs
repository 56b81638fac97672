using GanBertBots.Bots.Discord;
using GanBertBots.Bots.Telegram;
using GanBertBots.Inference;
using GanBertBots.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GanBertBots.Host.Observability;

/// <summary>
/// Health checks: <c>/healthz</c> (liveness: the process answers and the inference worker thread is alive) and
/// <c>/readyz</c> (readiness: the label store answers, each configured adapter is connected, the configured models are
/// loaded; a model that is not installed makes the service "Degraded", not "Unhealthy": it still answers everything else).
/// </summary>
public static class ServiceHealth
{
    public const string Live = "live";
    public const string Ready = "ready";

    public static IServiceCollection AddServiceHealth(this IServiceCollection services, bool telegram, bool discordGateway)
    {
        var checks = services.AddHealthChecks()
            .AddCheck<InferenceWorkerCheck>("inference-worker", tags: [Live, Ready])
            .AddCheck<LabelStoreCheck>("label-store", tags: [Ready])
            .AddCheck<ModelsCheck>("models", tags: [Ready]);
        if (telegram) checks.AddCheck<TelegramConnectedCheck>("telegram", tags: [Ready]);
        if (discordGateway) checks.AddCheck<DiscordConnectedCheck>("discord", tags: [Ready]);
        return services;
    }

    sealed class InferenceWorkerCheck(InferenceService inference) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
            Task.FromResult(inference.WorkerAlive ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("the inference worker thread has stopped"));
    }

    sealed class LabelStoreCheck(ILabelStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await store.GetStatsAsync(timeout.Token);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is StorageException or OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy($"the label store does not answer: {e.Message}");
            }
        }
    }

    sealed class ModelsCheck(InferenceService inference) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
        {
            var missing = new List<string>();
            if (inference.GeneratorVersion is null) missing.Add("generator");
            if (inference.DetectorVersion is null) missing.Add("detector");
            return Task.FromResult(missing.Count == 0 ? HealthCheckResult.Healthy()
                : HealthCheckResult.Degraded($"not loaded: {string.Join(", ", missing)} (see the log for what to run)"));
        }
    }

    sealed class TelegramConnectedCheck(TelegramBotService telegram) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
            Task.FromResult(telegram.Ready.IsCompletedSuccessfully ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("Telegram is not connected yet (getMe has not answered)"));
    }

    sealed class DiscordConnectedCheck(DiscordGatewayService discord) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
            Task.FromResult(discord.AllShardsReady ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("Discord's gateway has not sent READY to every shard yet"));
    }
}
