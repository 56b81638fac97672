using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GanBertBots.Inference;

// Long on purpose: the queues, batching, cancellation and model swaps share one lock and one worker thread; their invariants are checked more easily in one file.

/// <summary>
/// Owns the device: one worker thread runs every model call. Requests from all chats wait in two bounded queues
/// (generation, detection, explanation) and are merged into batches (up to MaxBatchSize, waiting at most MaxWaitMs for the
/// oldest). A full queue answers <see cref="InferenceOutcome.Busy"/> at once. A caller's cancellation or the
/// request timeout ends that request at once, whether it is still queued or already in a batch (the batch goes on
/// for the others and is cancelled only when nobody is left waiting for it). Models are swapped at run time:
/// a batch that has started finishes on the model it started with; the old model is disposed on the worker
/// thread before the next batch.
/// </summary>
public sealed class InferenceService : IInferenceService, IDisposable
{
    readonly InferenceOptions _options;
    readonly object _gate = new();
    readonly List<Job<TweetResult>> _generationQueue = [];
    readonly List<Job<Verdict>> _detectionQueue = [];
    readonly List<Job<TextEvidence>> _explanationQueue = [];
    readonly List<(IDisposable Model, TaskCompletionSource Done)> _retired = [];
    readonly Thread _worker;
    ITweetModel? _generator;
    IDetectorModel? _detector;
    string _generatorMissing = "The tweet generator is not loaded.";
    string _detectorMissing = "The detector is not loaded.";
    bool _stopping;
    WorkKind _wentLast = WorkKind.Generation;   // detection first when several queues have work at start
    long _generationBatches, _detectionBatches, _generationRequests, _detectionRequests, _generationModelTicks, _detectionModelTicks, _busyAnswers;
    long _explanationBatches, _explanationRequests, _explanationModelTicks;

    enum WorkKind { Generation, Detection, Explanation }

    readonly ILogger _log;

    /// <summary>What chat users are told when the generator wrote only empty tweets, even after resampling.</summary>
    public const string NoTweetMessage = "I could not write a tweet this time, please try again.";

    /// <summary>What chat users are told when a model threw: a sentence and a reference; the detail is in the operator's log.</summary>
    public static string FailureMessage(string reference) =>
        $"Sorry, the model failed on my side (ref {reference}). Please try again later.";

    /// <param name="log">The operator's log: a model's failure is logged here in full, with the reference users are given.</param>
    public InferenceService(InferenceOptions options, ITweetModel? generator = null, IDetectorModel? detector = null, ILogger? log = null)
    {
        options.Validate();
        _options = options;
        _log = log ?? NullLogger.Instance;
        _generator = generator;
        _detector = detector;
        _worker = new Thread(WorkLoop) { IsBackground = true, Name = "inference-worker" };
        _worker.Start();
    }

    public string? GeneratorVersion { get { lock (_gate) return _generator?.ModelVersion; } }
    /// <summary>Whether the worker thread that runs the models is alive (liveness).</summary>
    public bool WorkerAlive => _worker.IsAlive;
    public string? DetectorVersion { get { lock (_gate) return _detector?.ModelVersion; } }
    /// <summary>The served detector's held-out figures in a line (null when it has none or none is loaded).</summary>
    public string? DetectorHeldOutFigures { get { lock (_gate) return _detector?.HeldOutFigures; } }
    public IReadOnlyList<string> DetectorClasses { get { lock (_gate) return _detector?.Classes ?? []; } }

    /// <summary>Counters since start (for /stats and the bench).</summary>
    public InferenceStatistics Statistics
    {
        get
        {
            lock (_gate)
                return new InferenceStatistics(_generationBatches, _generationRequests, TimeSpan.FromTicks(_generationModelTicks),
                    _detectionBatches, _detectionRequests, TimeSpan.FromTicks(_detectionModelTicks), _busyAnswers,
                    _generationQueue.Count, _detectionQueue.Count)
                {
                    ExplanationBatches = _explanationBatches, ExplanationRequests = _explanationRequests,
                    ExplanationModelTime = TimeSpan.FromTicks(_explanationModelTicks), ExplanationQueued = _explanationQueue.Count,
                };
        }
    }

    /// <summary>Raised on the worker thread after each model call (kind, batch size, model time).</summary>
    public event Action<BatchReport>? BatchCompleted;

    /// <summary>
    /// Replaces the generator (null unloads it; <paramref name="unavailableReason"/> is then what chat users are told: a short sentence, no commands).
    /// Returns a task that completes once the previous model has been disposed, after any batch running on it.
    /// </summary>
    public Task SwapGenerator(ITweetModel? model, string? unavailableReason = null)
    {
        lock (_gate)
        {
            var old = _generator;
            _generator = model;
            if (unavailableReason != null) _generatorMissing = unavailableReason;
            return RetireLocked(old);
        }
    }

    /// <summary>Replaces the detector; see <see cref="SwapGenerator"/>.</summary>
    public Task SwapDetector(IDetectorModel? model, string? unavailableReason = null)
    {
        if (model is { FailedGate: true })
            _log.LogWarning("The detector {Version} failed its evaluation gate ({Figures}) and is served only because --force let it through: " +
                "chats get its scores on every text, never a verdict", model.ModelVersion, model.HeldOutFigures);
        lock (_gate)
        {
            var old = _detector;
            _detector = model;
            if (unavailableReason != null) _detectorMissing = unavailableReason;
            return RetireLocked(old);
        }
    }

    Task RetireLocked(IDisposable? old)
    {
        if (old is null) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_stopping) { old.Dispose(); done.SetResult(); return done.Task; }
        _retired.Add((old, done));
        Monitor.PulseAll(_gate);
        return done.Task;
    }

    public Task<TweetResult> GenerateAsync(TweetRequest request, IProgress<string>? partialText = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = request.Settings ?? _options.DefaultTweet;
        return Submit(_generationQueue, _options.Generation, new TweetJob(request.Topic, settings, partialText), cancellationToken,
            () => _generator is null ? _generatorMissing : null,
            (outcome, message) => new TweetResult { Outcome = outcome, Message = message, Settings = settings });
    }

    public Task<Verdict> DetectAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var verdict = Submit(_detectionQueue, _options.Detection, new DetectJob(text), cancellationToken,
            () => _detector is null ? _detectorMissing : null,
            (outcome, message) => new Verdict { Outcome = outcome, Message = message });
        return JudgeAsync(verdict, text, cancellationToken);
    }

    /// <summary>
    /// The detector's answer put into words: fused with the zero-shot score when its calibration has fusion weights and
    /// the served GPT-2 scored the text (otherwise the calibrated detector probability stands), then judged.
    /// </summary>
    async Task<Verdict> JudgeAsync(Task<Verdict> pending, string text, CancellationToken cancellationToken)
    {
        var verdict = await pending.ConfigureAwait(false);
        if (!verdict.IsCompleted) return verdict;
        double real = verdict.CalibratedRealProbability;
        if (verdict.FusionWeights is { } fusion && !double.IsNaN(real))
        {
            var evidence = await ExplainAsync(text, cancellationToken).ConfigureAwait(false);
            if (evidence.IsCompleted && double.IsFinite(evidence.ZeroShotScore))
            {
                real = 1 - fusion.MachineProbability(1 - real, evidence.ZeroShotScore);
                verdict = verdict with { Fused = true, ZeroShotScore = evidence.ZeroShotScore };
            }
        }
        return verdict with
        {
            CalibratedRealProbability = real,
            IsReal = real >= 0.5,
            Judgement = _options.Verdict.Judge(real, verdict.TokenCount, verdict.MinimumTokens,
                VerdictOptions.DistanceFromEven(verdict.Probabilities, real), verdict.DetectorFailedGate),
        };
    }

    /// <summary>What chat users are told when the loaded generator cannot read texts back (it is not a GPT-2).</summary>
    public const string NoExplainerMessage = "Explanations need the GPT-2 tweet generator, and the loaded generator cannot give them.";

    /// <summary>
    /// The served GPT-2's view of <paramref name="text"/> (<see cref="ITextExplainer"/>): queued and batched like
    /// detection, on the generator's model (so Unavailable when no generator is loaded).
    /// </summary>
    public Task<TextEvidence> ExplainAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Submit(_explanationQueue, _options.Explanation, new ExplainJob(text), cancellationToken,
            () => _generator is null ? _generatorMissing : _generator is ITextExplainer ? null : NoExplainerMessage,
            (outcome, message) => new TextEvidence { Outcome = outcome, Message = message });
    }

    Task<T> Submit<T>(List<Job<T>> queue, BatchingOptions limits, Job<T> job, CancellationToken callerToken,
        Func<string?> missingReason, Func<InferenceOutcome, string, T> failure)
    {
        callerToken.ThrowIfCancellationRequested();
        job.Failure = failure;
        lock (_gate)
        {
            if (_stopping) return Task.FromResult(failure(InferenceOutcome.Unavailable, "The model service is shutting down."));
            if (missingReason() is { } reason) return Task.FromResult(failure(InferenceOutcome.Unavailable, reason));
            if (queue.Count >= limits.QueueCapacity)
            {
                _busyAnswers++;
                return Task.FromResult(failure(InferenceOutcome.Busy, "The bot is busy right now; please try again in a moment."));
            }
        }
        // Watch before queueing: the callbacks take the lock, and a job that ends first is simply never queued.
        job.Watch(callerToken, _options.RequestTimeoutSeconds, () => { lock (_gate) queue.Remove(job); });
        lock (_gate)
        {
            if (_stopping) job.Finish(failure(InferenceOutcome.Unavailable, "The model service is shutting down."));
            else if (!job.Completion.Task.IsCompleted)
            {
                job.Enqueued = Stopwatch.GetTimestamp();
                queue.Add(job);
                Monitor.PulseAll(_gate);
            }
        }
        return job.Completion.Task;
    }

    void WorkLoop()
    {
        while (true)
        {
            List<(IDisposable Model, TaskCompletionSource Done)> retired;
            WorkKind next = WorkKind.Generation;
            lock (_gate)
            {
                while (!_stopping && _retired.Count == 0 && _generationQueue.Count == 0 && _detectionQueue.Count == 0 && _explanationQueue.Count == 0)
                    Monitor.Wait(_gate);
                retired = [.. _retired];
                _retired.Clear();
                if (_stopping && retired.Count == 0) break;
                // Take the queues in turn, starting after the one served last, so none starves.
                for (int step = 1; step <= 3; step++)
                {
                    var kind = (WorkKind)(((int)_wentLast + step) % 3);
                    if (QueueLength(kind) > 0) { next = kind; break; }
                }
            }
            foreach (var (model, done) in retired)
            {
                try { model.Dispose(); } catch { /* a failing Dispose must not stop the worker */ }
                done.TrySetResult();
            }
            if (retired.Count > 0) continue;
            if (next == WorkKind.Detection) RunDetectionBatch();
            else if (next == WorkKind.Explanation) RunExplanationBatch();
            else RunGenerationBatch();
        }
        FailAll(_generationQueue);
        FailAll(_detectionQueue);
        FailAll(_explanationQueue);
    }

    int QueueLength(WorkKind kind) => kind switch
    {
        WorkKind.Generation => _generationQueue.Count,
        WorkKind.Detection => _detectionQueue.Count,
        _ => _explanationQueue.Count,
    };

    void FailAll<T>(List<Job<T>> queue)
    {
        List<Job<T>> left;
        lock (_gate) { left = [.. queue]; queue.Clear(); }
        foreach (var job in left) job.Finish(job.Failure!(InferenceOutcome.Unavailable, "The model service is shutting down."));
    }

    /// <summary>Takes the oldest job and every job that may share its batch, waiting up to MaxWaitMs for more.</summary>
    List<Job<T>> CollectBatch<T>(List<Job<T>> queue, BatchingOptions limits, Func<Job<T>, Job<T>, bool> compatible)
    {
        var batch = new List<Job<T>>();
        lock (_gate)
        {
            if (queue.Count == 0) return batch;
            var first = queue[0];
            long deadline = first.Enqueued + (long)(limits.MaxWaitMs * Stopwatch.Frequency / 1000.0);
            while (true)
            {
                for (int i = 0; i < queue.Count && batch.Count < limits.MaxBatchSize;)
                {
                    if (compatible(first, queue[i])) { batch.Add(queue[i]); queue.RemoveAt(i); }
                    else i++;
                }
                long now = Stopwatch.GetTimestamp();
                if (batch.Count >= limits.MaxBatchSize || now >= deadline || _stopping) break;
                Monitor.Wait(_gate, TimeSpan.FromTicks(Math.Max(1, (deadline - now) * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
            }
        }
        return batch;
    }

    void RunGenerationBatch()
    {
        var batch = CollectBatch(_generationQueue, _options.Generation,
            (a, b) => ((TweetJob)a).Settings == ((TweetJob)b).Settings);
        ITweetModel? model;
        lock (_gate) { model = _generator; _wentLast = WorkKind.Generation; }
        RunBatch(batch, model, _generatorMissing, (m, ct) =>
        {
            var jobs = batch.Cast<TweetJob>().ToList();
            var tweets = m.GenerateBatch(jobs.Select(j => j.Topic).ToList(), jobs[0].Settings,
                (i, text) => { if ((uint)i < (uint)jobs.Count) jobs[i].ReportPartial(text); }, ct);
            CheckCount(tweets.Count, jobs.Count);
            // A tweet is never empty: the model resamples what it can (Gpt2TweetModel); what is still empty is answered honestly.
            return tweets.Select((t, i) => string.IsNullOrWhiteSpace(t.Text) ? new TweetResult
            {
                Outcome = InferenceOutcome.Failed, Message = NoTweetMessage, Prompt = t.Prompt, FinishReason = t.FinishReason,
                GeneratedTokens = t.GeneratedTokens, ModelVersion = m.ModelVersion, Settings = jobs[i].Settings,
            } : new TweetResult
            {
                Outcome = InferenceOutcome.Completed, Text = t.Text, Prompt = t.Prompt, FinishReason = t.FinishReason,
                GeneratedTokens = t.GeneratedTokens, ModelVersion = m.ModelVersion, Settings = jobs[i].Settings,
            }).ToList();
        }, (r, size, queued, modelTime) => r with { BatchSize = size, QueueTime = queued, ModelTime = modelTime },
        WorkKind.Generation);
    }

    void RunDetectionBatch()
    {
        var batch = CollectBatch(_detectionQueue, _options.Detection, (_, _) => true);
        IDetectorModel? model;
        lock (_gate) { model = _detector; _wentLast = WorkKind.Detection; }
        RunBatch(batch, model, _detectorMissing, (m, ct) =>
        {
            var outputs = m.DetectBatch(batch.Select(j => ((DetectJob)j).Text).ToList(), ct);
            CheckCount(outputs.Count, batch.Count);
            var calibration = m.Calibration;
            bool failedGate = m.FailedGate;
            string? heldOut = m.HeldOutFigures;
            return outputs.Select(o => new Verdict
            {
                Outcome = InferenceOutcome.Completed, Label = o.Label, Probabilities = o.Probabilities,
                RealProbability = o.RealProbability, IsReal = o.RealProbability >= 0.5, Truncated = o.Truncated,
                ModelVersion = m.ModelVersion,
                CalibratedRealProbability = double.IsNaN(o.CalibratedRealProbability) ? o.RealProbability : o.CalibratedRealProbability,
                Calibrated = !double.IsNaN(o.CalibratedRealProbability), TokenCount = o.TokenCount,
                MinimumTokens = calibration?.MinimumTokens ?? 0, FusionWeights = calibration?.Fusion, DetectorFailedGate = failedGate,
                DetectorHeldOutFigures = heldOut,
            }).ToList();
        }, (r, size, queued, modelTime) => r with { BatchSize = size, QueueTime = queued, ModelTime = modelTime },
        WorkKind.Detection);
    }

    void RunExplanationBatch()
    {
        var batch = CollectBatch(_explanationQueue, _options.Explanation, (_, _) => true);
        ITextExplainer? model;
        string missing;
        lock (_gate)
        {
            model = _generator as ITextExplainer;
            missing = _generator is null ? _generatorMissing : NoExplainerMessage;
            _wentLast = WorkKind.Explanation;
        }
        RunBatch(batch, model, missing, (m, ct) =>
        {
            var evidence = m.ExplainBatch(batch.Select(j => ((ExplainJob)j).Text).ToList(), ct);
            CheckCount(evidence.Count, batch.Count);
            return [.. evidence];
        }, (r, _, _, _) => r, WorkKind.Explanation);
    }

    static void CheckCount(int got, int expected)
    {
        if (got != expected) throw new InvalidOperationException($"the model returned {got} results for a batch of {expected}");
    }

    void RunBatch<TModel, T>(List<Job<T>> batch, TModel? model, string missing, Func<TModel, CancellationToken, List<T>> call,
        Func<T, int, TimeSpan, TimeSpan, T> stamp, WorkKind kind) where TModel : class
    {
        batch.RemoveAll(j => j.Completion.Task.IsCompleted);
        if (batch.Count == 0) return;
        if (model is null)
        {
            foreach (var job in batch) job.Finish(job.Failure!(InferenceOutcome.Unavailable, missing));
            return;
        }
        using var batchCancel = new CancellationTokenSource();
        var group = new BatchGroup<T>(batch, batchCancel);
        foreach (var job in batch) job.Group = group;
        if (group.NobodyWaiting) return;

        long start = Stopwatch.GetTimestamp();
        List<T>? results = null;
        Exception? error = null;
        try { results = call(model, batchCancel.Token); }
        catch (OperationCanceledException) when (batchCancel.IsCancellationRequested) { }
        catch (Exception e) { error = e; }
        var modelTime = Stopwatch.GetElapsedTime(start);
        foreach (var job in batch) job.Group = null;
        string? reference = null;
        if (error != null)
        {
            // The exception may name server folders and file offsets: it goes to the operator's log, users get a reference.
            reference = Guid.NewGuid().ToString("N")[..8];
            try { _log.LogError(error, "The {Kind} model failed on a batch of {Size} (ref {Ref})", KindName(kind), batch.Count, reference); }
            catch { /* a failing logger must not stop the worker */ }
        }

        lock (_gate)
        {
            switch (kind)
            {
                case WorkKind.Generation: _generationBatches++; _generationRequests += batch.Count; _generationModelTicks += modelTime.Ticks; break;
                case WorkKind.Detection: _detectionBatches++; _detectionRequests += batch.Count; _detectionModelTicks += modelTime.Ticks; break;
                default: _explanationBatches++; _explanationRequests += batch.Count; _explanationModelTicks += modelTime.Ticks; break;
            }
        }
        // Observers hear of the batch before its callers are answered, so a caller that saw its answer sees the batch counted.
        try { BatchCompleted?.Invoke(new BatchReport(KindName(kind), batch.Count, modelTime, error)); }
        catch { /* an observer must not stop the worker */ }
        for (int i = 0; i < batch.Count; i++)
        {
            var job = batch[i];
            var queued = TimeSpan.FromTicks((start - job.Enqueued) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);
            if (results != null) job.Finish(stamp(results[i], batch.Count, queued, modelTime));
            else if (error != null) job.Finish(job.Failure!(InferenceOutcome.Failed, FailureMessage(reference!)));
        }
    }

    static string KindName(WorkKind kind) => kind switch
    {
        WorkKind.Generation => "generation",
        WorkKind.Detection => "detection",
        _ => "explanation",
    };

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _worker.Join();
        _generator?.Dispose();
        _detector?.Dispose();
        _generator = null;
        _detector = null;
    }

    // ---- requests in flight ------------------------------------------------------------------------------------

    abstract class Job<T>
    {
        public readonly TaskCompletionSource<T> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long Enqueued;
        public Func<InferenceOutcome, string, T>? Failure;
        public volatile BatchGroup<T>? Group;
        CancellationTokenSource? _timeout;
        CancellationTokenRegistration _callerRegistration, _timeoutRegistration;

        public void Watch(CancellationToken callerToken, double timeoutSeconds, Action removeFromQueue)
        {
            if (callerToken.CanBeCanceled)
                _callerRegistration = callerToken.Register(() =>
                {
                    removeFromQueue();
                    if (Completion.TrySetCanceled(callerToken)) Release();
                });
            if (timeoutSeconds > 0)
            {
                _timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
                _timeoutRegistration = _timeout.Token.Register(() =>
                {
                    removeFromQueue();
                    if (Completion.TrySetResult(Failure!(InferenceOutcome.TimedOut,
                            $"That took longer than {timeoutSeconds:0.#} s and was stopped; please try again."))) Release();
                });
            }
        }

        public void Finish(T result)
        {
            if (Completion.TrySetResult(result)) Release();
        }

        void Release()
        {
            _callerRegistration.Dispose();
            _timeoutRegistration.Dispose();
            _timeout?.Dispose();
            Group?.MemberLeft();
        }
    }

    sealed class TweetJob(string? topic, TweetSettings settings, IProgress<string>? progress) : Job<TweetResult>
    {
        public string? Topic { get; } = topic;
        public TweetSettings Settings { get; } = settings;

        public void ReportPartial(string text)
        {
            if (progress is null || Completion.Task.IsCompleted) return;
            try { progress.Report(text); } catch { /* a failing observer must not break the batch */ }
        }
    }

    sealed class DetectJob(string text) : Job<Verdict>
    {
        public string Text { get; } = text;
    }

    sealed class ExplainJob(string text) : Job<TextEvidence>
    {
        public string Text { get; } = text;
    }

    /// <summary>The jobs of one running batch: cancels the model call once none of them is waiting any more.</summary>
    sealed class BatchGroup<T>(List<Job<T>> jobs, CancellationTokenSource cancel)
    {
        public bool NobodyWaiting => jobs.All(j => j.Completion.Task.IsCompleted);

        public void MemberLeft()
        {
            if (!NobodyWaiting) return;
            try { cancel.Cancel(); } catch (ObjectDisposedException) { }
        }
    }
}

/// <summary>One model call, as reported by <see cref="InferenceService.BatchCompleted"/>.</summary>
public sealed record BatchReport(string Kind, int Size, TimeSpan ModelTime, Exception? Error);

public sealed record InferenceStatistics(
    long GenerationBatches, long GenerationRequests, TimeSpan GenerationModelTime,
    long DetectionBatches, long DetectionRequests, TimeSpan DetectionModelTime,
    long BusyAnswers, int GenerationQueued, int DetectionQueued)
{
    public long ExplanationBatches { get; init; }
    public long ExplanationRequests { get; init; }
    public TimeSpan ExplanationModelTime { get; init; }
    public int ExplanationQueued { get; init; }
}
