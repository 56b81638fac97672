using GanBertBots.Models.ZeroShot;
using GanBertBots.Testing;
using GanBertBots.Training.ZeroShot;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Gpt2;

public class ZeroShotAurocTests
{
    /// <summary>Against the definition, pair by pair: P(positive above negative) + ½ P(tie).</summary>
    static double PairCount(double[] pos, double[] neg) =>
        pos.Sum(p => neg.Sum(n => p > n ? 1.0 : p == n ? 0.5 : 0.0)) / (pos.Length * (double)neg.Length);

    [Fact]
    public void Rank_statistic_equals_the_pairwise_count_ties_included()
    {
        double[] pos = [0.9, 0.8, 0.4], neg = [0.5, 0.3, 0.4];
        Assert.Equal(7.5 / 9, Auroc.Compute(pos, neg), 12);        // by hand: 3 + 3 + (1 + ½)
        Assert.Equal(1.0, Auroc.Compute([2, 3], [0, 1]));
        Assert.Equal(0.0, Auroc.Compute([0, 1], [2, 3]));
        Assert.Equal(0.5, Auroc.Compute([1, 1], [1, 1, 1]));
        Assert.True(double.IsNaN(Auroc.Compute([], [1])));
        var rng = new Random(3);
        for (int trial = 0; trial < 20; trial++)
        {
            var a = Enumerable.Range(0, rng.Next(1, 30)).Select(_ => (double)rng.Next(10)).ToArray();
            var b = Enumerable.Range(0, rng.Next(1, 30)).Select(_ => (double)rng.Next(10)).ToArray();
            Assert.Equal(PairCount(a, b), Auroc.Compute(a, b), 12);
        }
    }

    [Fact]
    public void Report_compares_human_with_each_class_and_all_and_leaves_out_unscored_texts()
    {
        string[] labels = ["human", "human", "gpt2", "gpt2", "llama", "human"];
        double[] scores = [-2, 0.5, 1, 0, 3, double.NaN];
        var report = ZeroShotEvaluation.Compare(labels, scores, "human");
        Assert.Equal(2, report.HumanCount);
        Assert.Equal(["gpt2", "llama"], report.Classes.Select(c => c.Label));
        Assert.Equal(PairCount([1, 0], [-2, 0.5]), report.Classes[0].Auroc, 12);
        Assert.Equal(1.0, report.Classes[1].Auroc);
        Assert.Equal(PairCount([1, 0, 3], [-2, 0.5]), report.All.Auroc, 12);
        Assert.Equal(1, report.Unscored);
        Assert.Contains("| llama | 1 | 3.000 | 1.000 |", report.Format());
    }

    /// <summary>
    /// Greedy text is every token the model's first choice, so its log-likelihood is above the expected one and its
    /// score positive; random ids score far below: the score must tell them apart completely.
    /// </summary>
    [Fact]
    public void Greedy_text_of_the_scoring_model_scores_above_random_text()
    {
        using var model = TinyGpt2.Create(seed: 11);
        var rng = new Random(5);
        var greedy = new List<int[]>();
        var random = new List<int[]>();
        for (int i = 0; i < 8; i++)
        {
            var ids = new List<int> { rng.Next(64) };
            using (no_grad())
                while (ids.Count < 20)
                    ids.Add((int)model.forward(tensor(ids.Select(x => (long)x).ToArray()).unsqueeze(0))[0, -1].argmax().item<long>());
            greedy.Add([.. ids]);
            random.Add(Enumerable.Range(0, 20).Select(_ => rng.Next(64)).ToArray());
        }
        var scorer = new ZeroShotScorer(model);
        var g = scorer.Score(greedy).Select(s => s.Discrepancy()).ToArray();
        var r = scorer.Score(random).Select(s => s.Discrepancy()).ToArray();
        Assert.All(scorer.Score(greedy), s => Assert.All(s.Ranks.Skip(1), rank => Assert.Equal(1, rank)));
        Assert.All(g, x => Assert.True(x > 0, $"greedy score {x}"));
        Assert.Equal(1.0, Auroc.Compute(g, r));
    }
}
