using GanBertBots.Models.Gpt2;
using GanBertBots.Models.ZeroShot;
using GanBertBots.Testing;
using GanBertBots.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

/// <summary>
/// Known answers for the zero-shot scorer: every figure is recomputed here in double from the model's weights by a
/// naive GPT-2 forward pass written in plain loops (<see cref="NaiveGpt2"/>), then its own log-softmax, rank, mean,
/// variance and Fast-DetectGPT score. What the reference shares with the code under test: the weights, the
/// attention scale the model reports per layer, and the definition of rank (1 + tokens strictly more likely).
/// </summary>
public class ZeroShotScorerTests
{
    static readonly int[][] Texts =
    [
        [5, 17, 3, 3, 60, 12, 41, 7, 9, 22, 33],
        [1, 2],
        [40, 8, 8, 19, 50, 2, 61],
        [13],
    ];

    [Theory]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Float32)]
    public void Ranks_log_probabilities_and_score_equal_a_naive_float64_reference(ScalarType dtype)
    {
        using var model = TinyGpt2.Create(seed: 77);
        model.to(dtype);
        var reference = new NaiveGpt2(model);
        // A small chunk limit as well: rows are then scored two by two, through the padding of different lengths.
        foreach (long chunk in new[] { 1L << 24, 2L * 11 * 64 })
        {
            var scores = new ZeroShotScorer(model) { MaxLogitElements = chunk }.Score(Texts);
            // float32: bounded relative to the values (and the score by its condition number), as below; an absolute
            // 1e-6 on a score of about −2.4 is 4 float32 ulps, and failed once when the CPU was shared (another
            // summation order in the matmuls).
            for (int i = 0; i < Texts.Length; i++)
                AssertMatches(reference.Expect(Texts[i]), scores[i], 1e-6, relative: dtype == ScalarType.Float32);
        }
    }

    /// <summary>
    /// A real checkpoint layout with a 1,000-token vocabulary: in double it matches to 1e-6 absolute; in float32 (the
    /// served precision) the sums over 1,000 tokens of the float32 forward's outputs round at about 2e-7 of their
    /// size, so there the bound is 1e-6 of max(1, |value|) (and of the score's condition number for the score).
    /// </summary>
    [SharedDataTheory("tiny-random-gpt2/model.safetensors")]
    [InlineData(ScalarType.Float64, false)]
    [InlineData(ScalarType.Float32, true)]
    public void Matches_the_reference_on_tiny_random_gpt2(ScalarType dtype, bool relative)
    {
        using var model = Gpt2Checkpoint.Load(SharedData.Require("tiny-random-gpt2"));
        model.to(dtype);
        var reference = new NaiveGpt2(model);
        int[][] texts = [[10, 500, 3, 999, 42, 42, 7, 250, 13], [1, 2, 3, 4]];
        var scores = new ZeroShotScorer(model).Score(texts);
        for (int i = 0; i < texts.Length; i++) AssertMatches(reference.Expect(texts[i]), scores[i], 1e-6, relative);
    }

    [Fact]
    public void Sequence_score_is_the_whole_range_and_a_sub_range_leaves_out_position_zero()
    {
        var s = new TokenScores([1, 2, 3], [0, 1, 4], [0, -1.0, -2.0], [0, -1.5, -1.0], [0, 0.25, 0.75]);
        Assert.Equal((-3.0 - -2.5) / 1.0, s.Discrepancy(), 12);
        Assert.Equal((-2.0 - -1.0) / Math.Sqrt(0.75), s.Discrepancy(2, 1), 12);
        Assert.Equal(s.Discrepancy(1, 2), s.Discrepancy(0, 3), 12);
        Assert.True(double.IsNaN(s.Discrepancy(0, 1)));
    }

    [Fact]
    public void Bad_sequences_are_refused_with_the_reason()
    {
        using var model = TinyGpt2.Create();
        var scorer = new ZeroShotScorer(model);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => scorer.Score([[]])).Message);
        Assert.Contains("window of 64", Assert.Throws<ArgumentException>(() => scorer.Score([new int[65]])).Message);
        Assert.Contains("id 64", Assert.Throws<ArgumentException>(() => scorer.Score([[1, 64]])).Message);
    }

    static void AssertMatches(Expected e, TokenScores got, double tolerance, bool relative = false)
    {
        void Close(double expected, double actual, string what) =>
            Assert.True(Math.Abs(expected - actual) < tolerance * (relative ? Math.Max(1, Math.Abs(expected)) : 1), $"{what}: {expected} expected, {actual} computed");
        Assert.Equal(e.Ranks, got.Ranks);
        for (int t = 0; t < e.LogProbabilities.Length; t++)
        {
            Close(e.LogProbabilities[t], got.LogProbabilities[t], $"log p at {t}");
            Close(e.Means[t], got.ExpectedLogProbabilities[t], $"mean at {t}");
            Close(e.Variances[t], got.LogProbabilityVariances[t], $"variance at {t}");
        }
        if (double.IsNaN(e.Score)) Assert.True(double.IsNaN(got.Discrepancy()));
        // The score is a difference of two sums over the tokens (about -50 each here) over √Σσ²: a relative error
        // of the sums is magnified by (Σ|lp| + Σ|μ|)/√Σσ², its condition number.
        else if (relative) Assert.True(Math.Abs(e.Score - got.Discrepancy()) < tolerance * e.Condition, $"score: {e.Score} expected, {got.Discrepancy()} computed");
        else Close(e.Score, got.Discrepancy(), "score");
    }

    sealed record Expected(int[] Ranks, double[] LogProbabilities, double[] Means, double[] Variances, double Score, double Condition);

    /// <summary>GPT-2 in double, one sequence at a time, in loops over arrays: no torch module code involved.</summary>
    sealed class NaiveGpt2
    {
        readonly Gpt2Config _config;
        readonly double[,] _wte, _wpe, _head;
        readonly Layer[] _layers;
        readonly (double[] W, double[] B) _lnF;

        sealed record Layer((double[] W, double[] B) Ln1, double[,] Qkv, double[] QkvBias, double[,] Out, double[] OutBias, double Scale,
                            (double[] W, double[] B) Ln2, double[,] Up, double[] UpBias, double[,] Down, double[] DownBias);

        public NaiveGpt2(Gpt2LMHeadModel model)
        {
            _config = model.Config;
            var w = model.Weights();
            _wte = Matrix(w.TokenEmbedding);
            _wpe = Matrix(w.PositionEmbedding);
            _head = Matrix(w.Head);
            _lnF = (Vector(w.FinalNorm.Weight), Vector(w.FinalNorm.Bias));
            _layers = w.Blocks.Select(b => new Layer(
                (Vector(b.Norm1.Weight), Vector(b.Norm1.Bias)), Matrix(b.Qkv.Weight), Vector(b.Qkv.Bias),
                Matrix(b.AttentionOutput.Weight), Vector(b.AttentionOutput.Bias), b.AttentionScale,
                (Vector(b.Norm2.Weight), Vector(b.Norm2.Bias)), Matrix(b.MlpUp.Weight), Vector(b.MlpUp.Bias),
                Matrix(b.MlpDown.Weight), Vector(b.MlpDown.Bias))).ToArray();
        }

        static double[] Vector(Tensor t) => t.to(ScalarType.Float64).cpu().data<double>().ToArray();

        static double[,] Matrix(Tensor t)
        {
            var flat = Vector(t);
            int rows = (int)t.shape[0], cols = (int)t.shape[1];
            var m = new double[rows, cols];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) m[r, c] = flat[r * cols + c];
            return m;
        }

        // y = W x + b with W [out, in]
        static double[] Project(double[,] w, double[]? b, double[] x)
        {
            var y = new double[w.GetLength(0)];
            for (int o = 0; o < y.Length; o++)
            {
                double s = b?[o] ?? 0;
                for (int i = 0; i < x.Length; i++) s += w[o, i] * x[i];
                y[o] = s;
            }
            return y;
        }

        double[] Norm(double[] x, (double[] W, double[] B) ln)
        {
            double mean = x.Average();
            double variance = x.Sum(v => (v - mean) * (v - mean)) / x.Length;
            double inv = 1 / Math.Sqrt(variance + _config.LayerNormEpsilon);
            return x.Select((v, i) => (v - mean) * inv * ln.W[i] + ln.B[i]).ToArray();
        }

        static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

        /// <summary>Logits [n][V] of one sequence.</summary>
        double[][] Logits(int[] ids)
        {
            int n = ids.Length, c = _config.Embedding, heads = _config.Heads, d = c / heads;
            var x = new double[n][];
            for (int t = 0; t < n; t++) x[t] = Enumerable.Range(0, c).Select(i => _wte[ids[t], i] + _wpe[t, i]).ToArray();
            foreach (var layer in _layers)
            {
                var qkv = x.Select(row => Project(layer.Qkv, layer.QkvBias, Norm(row, layer.Ln1))).ToArray();
                for (int t = 0; t < n; t++)
                {
                    var y = new double[c];
                    for (int hd = 0; hd < heads; hd++)
                    {
                        var scores = new double[t + 1];
                        for (int j = 0; j <= t; j++)
                        {
                            double s = 0;
                            for (int k = 0; k < d; k++) s += qkv[t][hd * d + k] * qkv[j][c + hd * d + k];
                            scores[j] = s * layer.Scale;
                        }
                        double max = scores.Max();
                        var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                        double total = weights.Sum();
                        for (int j = 0; j <= t; j++)
                            for (int k = 0; k < d; k++) y[hd * d + k] += weights[j] / total * qkv[j][2 * c + hd * d + k];
                    }
                    var attended = Project(layer.Out, layer.OutBias, y);
                    x[t] = x[t].Select((v, i) => v + attended[i]).ToArray();
                }
                for (int t = 0; t < n; t++)
                {
                    var up = Project(layer.Up, layer.UpBias, Norm(x[t], layer.Ln2)).Select(GeluTanh).ToArray();
                    var down = Project(layer.Down, layer.DownBias, up);
                    x[t] = x[t].Select((v, i) => v + down[i]).ToArray();
                }
            }
            return x.Select(row => Project(_head, null, Norm(row, _lnF))).ToArray();
        }

        public Expected Expect(int[] ids)
        {
            Assert.Equal("gelu_new", _config.Activation);
            var logits = Logits(ids);
            int n = ids.Length;
            var ranks = new int[n];
            var lps = new double[n];
            var means = new double[n];
            var variances = new double[n];
            double ll = 0, mu = 0, sigma2 = 0;
            for (int t = 1; t < n; t++)
            {
                var z = logits[t - 1];
                double max = z.Max();
                double logTotal = max + Math.Log(z.Sum(v => Math.Exp(v - max)));
                var lp = z.Select(v => v - logTotal).ToArray();
                lps[t] = lp[ids[t]];
                ranks[t] = 1 + lp.Count(v => v > lp[ids[t]]);
                // The formula as the paper's appendix states it: E[lp²] − E[lp]².
                double e1 = 0, e2 = 0;
                foreach (var v in lp) { e1 += Math.Exp(v) * v; e2 += Math.Exp(v) * v * v; }
                means[t] = e1;
                variances[t] = e2 - e1 * e1;
                ll += lps[t]; mu += e1; sigma2 += variances[t];
            }
            return new Expected(ranks, lps, means, variances, n > 1 ? (ll - mu) / Math.Sqrt(sigma2) : double.NaN,
                                (-ll - mu) / Math.Sqrt(sigma2));
        }
    }
}
