using GanBertBots.Inference;

namespace GanBertBots.Tests.Bots;

public sealed class InferenceServiceTests
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    static InferenceOptions Options(int maxBatch = 8, int capacity = 64, int waitMs = 0, double timeout = 30) => new()
    {
        Generation = new BatchingOptions { MaxBatchSize = maxBatch, QueueCapacity = capacity, MaxWaitMs = waitMs },
        Detection = new BatchingOptions { MaxBatchSize = maxBatch, QueueCapacity = capacity, MaxWaitMs = waitMs },
        RequestTimeoutSeconds = timeout,
    };

    [Fact]
    public async Task Concurrent_requests_queued_behind_a_running_batch_are_merged_into_one_call()
    {
        var model = new FakeDetectorModel { Gate = new ManualResetEventSlim(false) };
        using var service = new InferenceService(Options(), detector: model);
        var first = service.DetectAsync("first");
        Assert.True(await model.Entered.WaitAsync(Long));
        // While the worker is busy, five chats ask at once.
        var texts = new[] { "a", "bb", "ccc", "dddd", "eeeee" };
        var rest = texts.Select(t => Task.Run(() => service.DetectAsync(t))).ToArray();
        await WaitUntil(() => service.Statistics.DetectionQueued == 5);
        model.Gate.Set();
        var verdicts = await Task.WhenAll(rest);

        Assert.Equal([1, 5], model.Batches.Select(b => b.Count));
        Assert.Equal(texts.Order(), model.Batches.Last().Order());
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(InferenceOutcome.Completed, verdicts[i].Outcome);
            Assert.Equal(FakeDetectorModel.LabelFor(texts[i]), verdicts[i].Label); // each caller got its own answer
            Assert.Equal(5, verdicts[i].BatchSize);
        }
        Assert.Equal(1, (await first).BatchSize);
    }

    [Fact]
    public async Task Batches_never_exceed_the_maximum_size()
    {
        var model = new FakeDetectorModel { Gate = new ManualResetEventSlim(false) };
        using var service = new InferenceService(Options(maxBatch: 4), detector: model);
        var first = service.DetectAsync("x");
        Assert.True(await model.Entered.WaitAsync(Long));
        var rest = Enumerable.Range(0, 10).Select(i => service.DetectAsync(new string('y', i + 1))).ToArray();
        model.Gate.Set();
        await Task.WhenAll(rest.Append(first));
        Assert.Equal([1, 4, 4, 2], model.Batches.Select(b => b.Count));
    }

    [Fact]
    public async Task Requests_wait_up_to_MaxWaitMs_for_company()
    {
        var model = new FakeDetectorModel();
        using var service = new InferenceService(Options(waitMs: 500), detector: model);
        var a = service.DetectAsync("one");
        var b = service.DetectAsync("two");
        var c = service.DetectAsync("three");
        await Task.WhenAll(a, b, c);
        Assert.Equal([3], model.Batches.Select(x => x.Count));
    }

    [Fact]
    public async Task A_full_queue_answers_busy_at_once_and_the_queued_requests_still_complete()
    {
        var model = new FakeTweetModel { Gate = new ManualResetEventSlim(false) };
        using var service = new InferenceService(Options(capacity: 2), generator: model);
        var running = service.GenerateAsync(new TweetRequest("flood"));
        Assert.True(await model.Entered.WaitAsync(Long));
        var queued = new[] { service.GenerateAsync(new TweetRequest("fire")), service.GenerateAsync(new TweetRequest("storm")) };
        var refused = service.GenerateAsync(new TweetRequest("quake"));
        Assert.True(refused.IsCompleted); // answered synchronously, nothing hangs
        var answer = await refused;
        Assert.Equal(InferenceOutcome.Busy, answer.Outcome);
        Assert.Contains("busy", answer.Message);

        model.Gate.Set();
        var done = await Task.WhenAll(queued.Append(running));
        Assert.All(done, r => Assert.Equal(InferenceOutcome.Completed, r.Outcome));
        Assert.Equal(FakeTweetModel.TweetFor("fire"), done[0].Text);
        Assert.DoesNotContain(model.Batches, b => b.Contains("quake"));
        Assert.Equal(1, service.Statistics.BusyAnswers);
    }

    [Fact]
    public async Task A_cancelled_queued_request_ends_at_once_and_never_reaches_the_model()
    {
        var model = new FakeTweetModel { Gate = new ManualResetEventSlim(false) };
        using var service = new InferenceService(Options(), generator: model);
        var running = service.GenerateAsync(new TweetRequest("flood"));
        Assert.True(await model.Entered.WaitAsync(Long));
        using var cts = new CancellationTokenSource();
        var cancelled = service.GenerateAsync(new TweetRequest("cancel-me"), null, cts.Token);
        var kept = service.GenerateAsync(new TweetRequest("keep-me"));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        model.Gate.Set();
        await Task.WhenAll(running, kept);
        Assert.Equal(["flood", "keep-me"], model.Batches.SelectMany(b => b));
    }

    [Fact]
    public async Task Cancelling_the_only_request_of_a_running_batch_cancels_the_model_call()
    {
        var model = new FakeTweetModel { Gate = new ManualResetEventSlim(false) };
        using var service = new InferenceService(Options(), generator: model);
        using var cts = new CancellationTokenSource();
        var task = service.GenerateAsync(new TweetRequest("flood"), null, cts.Token);
        Assert.True(await model.Entered.WaitAsync(Long));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        await WaitUntil(() => model.LastToken.IsCancellationRequested);
        // The worker is free again: the next request runs (the gate is still closed, so it must not be stuck behind the old call).
        model.Gate.Set();
        Assert.Equal(InferenceOutcome.Completed, (await service.GenerateAsync(new TweetRequest("next"))).Outcome);
    }

    [Fact]
    public async Task A_request_running_past_the_timeout_ends_with_TimedOut()
    {
        var model = new FakeDetectorModel { Gate = new ManualResetEventSlim(false) };
        using var service = new InferenceService(Options(timeout: 0.2), detector: model);
        var verdict = await service.DetectAsync("slow").WaitAsync(Long);
        Assert.Equal(InferenceOutcome.TimedOut, verdict.Outcome);
        model.Gate.Set();
    }

    [Fact]
    public async Task Swapping_the_generator_lets_the_running_batch_finish_on_the_old_model_then_disposes_it_on_the_worker()
    {
        var oldModel = new FakeTweetModel("v1") { Gate = new ManualResetEventSlim(false) };
        var newModel = new FakeTweetModel("v2");
        using var service = new InferenceService(Options(), generator: oldModel);
        int? workerThread = null;
        service.BatchCompleted += _ => workerThread ??= Environment.CurrentManagedThreadId;
        var inFlight = service.GenerateAsync(new TweetRequest("flood"));
        Assert.True(await oldModel.Entered.WaitAsync(Long));

        var swapped = service.SwapGenerator(newModel);
        Assert.Equal("v2", service.GeneratorVersion);
        await Task.Delay(50);
        Assert.False(swapped.IsCompleted);
        Assert.False(oldModel.Disposed);

        oldModel.Gate.Set();
        Assert.Equal("v1", (await inFlight).ModelVersion);
        await swapped.WaitAsync(Long);
        Assert.True(oldModel.Disposed);
        Assert.Equal(workerThread, oldModel.DisposedOnThread);
        var next = await service.GenerateAsync(new TweetRequest("fire"));
        Assert.Equal("v2", next.ModelVersion);
        Assert.Single(oldModel.Batches);
    }

    [Fact]
    public async Task Without_a_model_requests_answer_unavailable_with_the_reason()
    {
        using var service = new InferenceService(Options());
        await service.SwapDetector(null, "No detector: run ganbertbots train detector");
        var verdict = await service.DetectAsync("text");
        Assert.Equal(InferenceOutcome.Unavailable, verdict.Outcome);
        Assert.Contains("ganbertbots train detector", verdict.Message);
        Assert.Null(service.DetectorVersion);
    }

    [Fact]
    public async Task A_failing_model_answers_Failed_and_the_worker_goes_on()
    {
        var model = new FakeTweetModel { Throw = new InvalidOperationException("CUDA out of memory") };
        using var service = new InferenceService(Options(), generator: model);
        var failed = await service.GenerateAsync(new TweetRequest("x"));
        Assert.Equal(InferenceOutcome.Failed, failed.Outcome);
        // Users get a sentence and a reference; the exception's text (paths, offsets) is for the operator's log only.
        Assert.DoesNotContain("CUDA out of memory", failed.Message);
        Assert.Matches(@"\(ref [0-9a-f]{8}\)", failed.Message);
        model.Throw = null;
        Assert.Equal(InferenceOutcome.Completed, (await service.GenerateAsync(new TweetRequest("y"))).Outcome);
    }

    [Fact]
    public async Task Requests_with_different_settings_are_not_merged()
    {
        var model = new FakeTweetModel { Gate = new ManualResetEventSlim(false) };
        using var service = new InferenceService(Options(), generator: model);
        var first = service.GenerateAsync(new TweetRequest("a"));
        Assert.True(await model.Entered.WaitAsync(Long));
        var hot = new TweetSettings { Temperature = 1.5 };
        var tasks = new[]
        {
            service.GenerateAsync(new TweetRequest("b")), service.GenerateAsync(new TweetRequest("c", hot)),
            service.GenerateAsync(new TweetRequest("d")), service.GenerateAsync(new TweetRequest("e", hot)),
        };
        model.Gate.Set();
        await Task.WhenAll(tasks.Append(first));
        Assert.Equal(["a", "b,d", "c,e"], model.Batches.Select(b => string.Join(",", b)));
    }

    [Fact]
    public async Task Partial_text_is_reported_to_the_requesting_caller_only()
    {
        var model = new FakeTweetModel();
        using var service = new InferenceService(Options(waitMs: 500), generator: model);
        var seenA = new List<string>();
        var seenB = new List<string>();
        var a = service.GenerateAsync(new TweetRequest("flood"), new SyncProgress(seenA));
        var b = service.GenerateAsync(new TweetRequest("fire"), new SyncProgress(seenB));
        await Task.WhenAll(a, b);
        Assert.Equal([2], model.Batches.Select(x => x.Count));
        Assert.Equal("Breaking:", seenA[0]);
        Assert.Equal(FakeTweetModel.TweetFor("flood"), seenA[^1]);
        Assert.Equal(FakeTweetModel.TweetFor("fire"), seenB[^1]);
    }

    [Fact]
    public async Task Disposing_the_service_answers_queued_requests_instead_of_leaving_them_hanging()
    {
        var model = new FakeDetectorModel { Gate = new ManualResetEventSlim(false) };
        var service = new InferenceService(Options(), detector: model);
        var running = service.DetectAsync("a");
        Assert.True(await model.Entered.WaitAsync(Long));
        var queued = service.DetectAsync("b");
        var disposing = Task.Run(service.Dispose);
        await Task.Delay(50);
        model.Gate.Set();
        await disposing.WaitAsync(Long);
        Assert.Equal(InferenceOutcome.Completed, (await running).Outcome);
        var q = await queued.WaitAsync(Long);
        Assert.Equal(InferenceOutcome.Unavailable, q.Outcome);
        Assert.True(model.Disposed);
    }

    sealed class SyncProgress(List<string> sink) : IProgress<string>
    {
        public void Report(string value) { lock (sink) sink.Add(value); }
    }

    static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Long;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached");
            await Task.Delay(5);
        }
    }
}
