using GanBertBots.Inference;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.ZeroShot;
using GanBertBots.Testing;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Bots;

/// <summary>ExplainAsync through the inference service with a real (tiny, random) GPT-2 generator.</summary>
public sealed class ExplainServiceTests : IDisposable
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    readonly string _checkpoint = TinyTweetModel.CreateCheckpoint(seed: 99);

    public void Dispose() { try { Directory.Delete(_checkpoint, true); } catch (IOException) { } }

    static InferenceOptions Options(int waitMs = 0, int capacity = 64, double timeout = 30) => new()
    {
        Explanation = new BatchingOptions { MaxBatchSize = 8, QueueCapacity = capacity, MaxWaitMs = waitMs },
        RequestTimeoutSeconds = timeout,
    };

    Gpt2TweetModel Load() => Gpt2TweetModel.Load(_checkpoint, TorchPlacement.Cpu);

    [Fact]
    public async Task Tokens_sentences_and_score_are_GPT2s_view_of_the_text()
    {
        const string text = "The fire. It spread fast! ok then\nNext line é";
        using var service = new InferenceService(Options(), Load());
        var e = await service.ExplainAsync(text);

        Assert.Equal(InferenceOutcome.Completed, e.Outcome);
        Assert.Equal(text, string.Concat(e.Tokens.Select(t => t.Text)));   // the pieces are the text, é included
        Assert.False(e.Truncated);
        Assert.Equal(service.GeneratorVersion, e.ScorerVersion);

        // An independent reading in double from the model's logits: log-softmax, rank, Fast-DetectGPT's sums.
        using var generator = TextGenerator.Load(_checkpoint);
        int[] ids = generator.Tokenizer.Encode(text);
        Assert.Equal(ids.Length, e.Tokens.Count);
        double[,] lp;
        using (no_grad())
        {
            var logits = generator.Model.forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0].to(ScalarType.Float64);
            var flat = logits.data<double>().ToArray();
            int v = (int)logits.shape[1];
            lp = new double[ids.Length, v];
            for (int t = 0; t < ids.Length; t++)
            {
                double max = Enumerable.Range(0, v).Max(k => flat[t * v + k]);
                double log = max + Math.Log(Enumerable.Range(0, v).Sum(k => Math.Exp(flat[t * v + k] - max)));
                for (int k = 0; k < v; k++) lp[t, k] = flat[t * v + k] - log;
            }
        }
        int vocab = lp.GetLength(1);
        double Score(int first, int count)
        {
            double ll = 0, mu = 0, s2 = 0;
            for (int t = Math.Max(1, first); t < first + count; t++)
            {
                double m = 0, m2 = 0;
                for (int k = 0; k < vocab; k++) { double p = Math.Exp(lp[t - 1, k]); m += p * lp[t - 1, k]; m2 += p * lp[t - 1, k] * lp[t - 1, k]; }
                ll += lp[t - 1, ids[t]]; mu += m; s2 += m2 - m * m;
            }
            return (ll - mu) / Math.Sqrt(s2);
        }
        Assert.Equal(new TokenEvidence(e.Tokens[0].Text, 0, 0), e.Tokens[0]);
        for (int t = 1; t < ids.Length; t++)
        {
            int rank = 1 + Enumerable.Range(0, vocab).Count(k => lp[t - 1, k] > lp[t - 1, ids[t]]);
            Assert.Equal(rank, e.Tokens[t].Rank);
            Assert.Equal(lp[t - 1, ids[t]], e.Tokens[t].LogProbability, 1e-5);
        }
        Assert.Equal(Score(0, ids.Length), e.ZeroShotScore, 1e-4);

        // "The fire." | " It spread fast!" | " ok then\n" | "Next line é"
        Assert.Equal(["The fire.", " It spread fast!", " ok then\n", "Next line é"],
            e.Sentences.Select(s => string.Concat(e.Tokens.Skip(s.FirstToken).Take(s.TokenCount).Select(t => t.Text))));
        foreach (var s in e.Sentences)
            Assert.Equal(1 / (1 + Math.Exp(-Score(s.FirstToken, s.TokenCount))), s.MachineLikelihood, 1e-5);
    }

    [Fact]
    public async Task Requests_at_once_share_one_batch_and_get_what_they_get_alone()
    {
        string[] texts = ["a short one", "Something longer, with a comma. And a second sentence!", "x", "", "tornado warning"];
        using var alone = new InferenceService(Options(), Load());
        var single = new List<TextEvidence>();
        foreach (var t in texts) single.Add(await alone.ExplainAsync(t));

        using var service = new InferenceService(Options(waitMs: 1000), Load());
        var together = await Task.WhenAll(texts.Select(t => service.ExplainAsync(t)));
        Assert.Equal(1, service.Statistics.ExplanationBatches);
        Assert.Equal(texts.Length, service.Statistics.ExplanationRequests);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(InferenceOutcome.Completed, together[i].Outcome);
            Assert.Equal(single[i].Tokens.Select(t => (t.Text, t.Rank)), together[i].Tokens.Select(t => (t.Text, t.Rank)));
            for (int t = 0; t < single[i].Tokens.Count; t++)
                Assert.Equal(single[i].Tokens[t].LogProbability, together[i].Tokens[t].LogProbability, 1e-5);
        }
        Assert.Empty(together[3].Tokens);                 // the empty text: nothing to score
        Assert.True(double.IsNaN(together[3].ZeroShotScore));
        Assert.True(double.IsNaN(together[2].ZeroShotScore));  // one token has no context
    }

    [Fact]
    public async Task A_text_longer_than_the_window_is_read_to_the_window_and_says_so()
    {
        using var service = new InferenceService(Options(), Load());
        var e = await service.ExplainAsync(string.Concat(Enumerable.Repeat("storm ", 100)));   // 600 byte-level tokens, window 128
        Assert.Equal(InferenceOutcome.Completed, e.Outcome);
        Assert.True(e.Truncated);
        Assert.Equal(128, e.Tokens.Count);
        Assert.False(double.IsNaN(e.ZeroShotScore));
    }

    [Fact]
    public async Task Without_a_GPT2_generator_the_answer_is_Unavailable_with_a_sentence()
    {
        using (var none = new InferenceService(Options()))
        {
            var e = await none.ExplainAsync("hello");
            Assert.Equal(InferenceOutcome.Unavailable, e.Outcome);
            Assert.Equal("The tweet generator is not loaded.", e.Message);
        }
        using var fake = new InferenceService(Options(), new FakeTweetModel());
        var f = await fake.ExplainAsync("hello");
        Assert.Equal(InferenceOutcome.Unavailable, f.Outcome);
        Assert.Equal(InferenceService.NoExplainerMessage, f.Message);
    }

    [Fact]
    public async Task A_full_queue_answers_Busy_and_a_slow_one_times_out()
    {
        using var model = new GatedExplainer(Load());
        using var service = new InferenceService(Options(capacity: 1, timeout: 2), model);
        var first = service.ExplainAsync("one");
        Assert.True(await model.Entered.WaitAsync(Long));       // the worker holds "one"
        var second = service.ExplainAsync("two");                // queued: the queue is full now
        var third = await service.ExplainAsync("three");
        Assert.Equal(InferenceOutcome.Busy, third.Outcome);
        Assert.Contains("busy", third.Message);
        var timedOut = await first;
        Assert.Equal(InferenceOutcome.TimedOut, timedOut.Outcome);
        Assert.Contains("longer than 2 s", timedOut.Message);
        // "two" waited in the queue behind the held worker for as long: it times out too. Its time is up before the gate
        // opens (opening it first raced the worker against the timer).
        Assert.Equal(InferenceOutcome.TimedOut, (await second).Outcome);
        model.Gate.Set();
    }

    /// <summary>A GPT-2 explainer that waits at a gate before reading.</summary>
    sealed class GatedExplainer(Gpt2TweetModel inner) : ITweetModel, ITextExplainer
    {
        public ManualResetEventSlim Gate { get; } = new(false);
        public SemaphoreSlim Entered { get; } = new(0);
        public string ModelVersion => inner.ModelVersion;

        public IReadOnlyList<TextEvidence> ExplainBatch(IReadOnlyList<string> texts, CancellationToken cancellationToken)
        {
            Entered.Release();
            Gate.Wait(cancellationToken);
            return inner.ExplainBatch(texts, cancellationToken);
        }

        public IReadOnlyList<GeneratedTweet> GenerateBatch(IReadOnlyList<string?> topics, TweetSettings settings,
            Action<int, string>? onPartialText, CancellationToken cancellationToken) => inner.GenerateBatch(topics, settings, onPartialText, cancellationToken);

        public void Dispose() { inner.Dispose(); Gate.Dispose(); }
    }
}

/// <summary>Sentence splitting on token pieces.</summary>
public sealed class SentenceSplitTests
{
    [Fact]
    public void Splits_after_sentence_ends_followed_by_space_and_after_line_breaks_only()
    {
        string[] pieces = ["It", " was", " 3", ".", "5", " km", ".", " Wow", "!\"", " Really", "?", "\n", "End", " e", ".", "g", "."];
        var sentences = TextScorer.Sentences(pieces).Select(s => string.Concat(pieces.Skip(s.First).Take(s.Count))).ToList();
        Assert.Equal(["It was 3.5 km.", " Wow!\"", " Really?", "\n", "End e.g."], sentences);
    }
}
