using System.Diagnostics;
using System.Diagnostics.Metrics;
using GanBertBots.Conversation;
using GanBertBots.Inference;

namespace GanBertBots.Host.Observability;

/// <summary>
/// The service's metrics (meter <see cref="MeterName"/>), exported for Prometheus at <c>/metrics</c> and over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Tags are low-cardinality only: command, platform, kind, outcome, model.
/// </summary>
public sealed class ServiceMetrics : IDisposable
{
    public const string MeterName = "GanBertBots";


    readonly Meter _meter;
    readonly Counter<long> _commands;
    readonly Histogram<double> _answerSeconds;
    readonly Histogram<int> _batchSize;
    readonly Histogram<double> _modelSeconds;
    readonly Counter<long> _rounds;
    readonly InferenceService _inference;

    public ServiceMetrics(IMeterFactory meters, InferenceService inference)
    {
        _inference = inference;
        _meter = meters.Create(MeterName);
        _commands = _meter.CreateCounter<long>("ganbertbots.commands", "{command}", "Commands and button presses handled, by command and platform");
        _answerSeconds = _meter.CreateHistogram<double>("ganbertbots.answer.duration", "s", "Time from an incoming message or button press to its answer");
        _batchSize = _meter.CreateHistogram<int>("ganbertbots.inference.batch.size", "{request}", "Requests per model call, by kind");
        _modelSeconds = _meter.CreateHistogram<double>("ganbertbots.inference.model.duration", "s", "Model time per batch, by kind");
        _rounds = _meter.CreateCounter<long>("ganbertbots.retraining.rounds", "{round}", "Retraining rounds finished, by outcome");
        _meter.CreateObservableGauge("ganbertbots.inference.queue.depth", () =>
        {
            var stats = Stats();
            return new[]
            {
                new Measurement<int>(stats.GenerationQueued, new KeyValuePair<string, object?>("kind", "generation")),
                new Measurement<int>(stats.DetectionQueued, new KeyValuePair<string, object?>("kind", "detection")),
            };
        }, "{request}", "Requests waiting for the model");
        _meter.CreateObservableCounter("ganbertbots.inference.busy", () => Stats().BusyAnswers, "{answer}",
            "Requests answered 'busy' or 'timed out' instead of run");
        // The version served: "detector v0002" from the registry, else the seed checkpoint's own version.
        _meter.CreateObservableGauge("ganbertbots.model.served", () => new[] { ("generator", inference.GeneratorVersion), ("detector", inference.DetectorVersion) }
            .Where(m => m.Item2 is not null)
            .Select(m => new Measurement<int>(1, new KeyValuePair<string, object?>("model", m.Item1), new KeyValuePair<string, object?>("version", m.Item2))),
            null, "The model versions served now (value 1; the version is a tag)");
        inference.BatchCompleted += OnBatch;
    }

    InferenceStatistics Stats() => _inference.Statistics;

    void OnBatch(BatchReport batch)
    {
        var kind = new KeyValuePair<string, object?>("kind", batch.Kind);
        _batchSize.Record(batch.Size, kind);
        _modelSeconds.Record(batch.ModelTime.TotalSeconds, kind);
    }

    /// <summary>Counts and times one handled message or button press.</summary>
    public void Handled(string command, string platform, TimeSpan elapsed)
    {
        var tags = new TagList { { "command", command }, { "platform", platform } };
        _commands.Add(1, tags);
        _answerSeconds.Record(elapsed.TotalSeconds, tags);
    }

    public void RoundFinished(string outcome) => _rounds.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>The command a message carries, as a tag value from a fixed set.</summary>

    public void Dispose()
    {
        _inference.BatchCompleted -= OnBatch;
        _meter.Dispose();
    }
}

/// <summary>The conversation core, counted and timed: every message and button press through <see cref="ServiceMetrics"/>.</summary>
public sealed class MeasuredConversation(ConversationRouter inner, ServiceMetrics metrics) : IConversation
{
    public async Task HandleMessageAsync(IncomingMessage message, IChatOutput output, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        try { await inner.HandleMessageAsync(message, output, cancellationToken); }
        finally { metrics.Handled(inner.CommandOf(message.Text), message.Chat.Platform, Stopwatch.GetElapsedTime(start)); }
    }

    public async Task HandleButtonAsync(ButtonPress press, IChatOutput output, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        try { await inner.HandleButtonAsync(press, output, cancellationToken); }
        finally { metrics.Handled("button", press.Chat.Platform, Stopwatch.GetElapsedTime(start)); }
    }
}
