using GanBertBots.Conversation;
using GanBertBots.Host.Composition;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace GanBertBots.Host.Observability;

/// <summary>Metrics and health for the service process.</summary>
public static class ObservabilityServices
{
    /// <summary>
    /// The service's meter, the conversation core counted and timed (<see cref="MeasuredConversation"/> in front of
    /// <see cref="ConversationRouter"/>), health checks, and OpenTelemetry: Prometheus when the process listens, OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Call after <c>AddGanBertBots</c>.
    /// </summary>
    public static IServiceCollection AddServiceObservability(this IServiceCollection services, ServiceShape shape)
    {
        services.AddMetrics();
        services.AddSingleton<ServiceMetrics>();
        services.RemoveAll<IConversation>();
        services.AddSingleton<IConversation>(sp => new MeasuredConversation(
            sp.GetRequiredService<ConversationRouter>(), sp.GetRequiredService<ServiceMetrics>()));
        services.AddServiceHealth(shape.Telegram,
            discordGateway: shape.Discord && services.Any(d => d.ServiceType == typeof(GanBertBots.Bots.Discord.DiscordGatewayService)));
        bool otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if (shape.Listens || otlp)
        {
            services.AddOpenTelemetry().WithMetrics(metrics =>
            {
                metrics.AddMeter(ServiceMetrics.MeterName);
                if (shape.Listens) metrics.AddPrometheusExporter();
                if (otlp) metrics.AddOtlpExporter();
            });
        }
        return services;
    }
}
