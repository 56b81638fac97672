using GanBertBots.Models;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Detector;

/// <summary>How train-detector sets texts aside for choosing the epoch, calibrating and the gate.</summary>
public sealed class DetectorSplitTests
{
    static List<LabelledText> Rows(params (string? Label, int Count)[] labels) =>
        labels.SelectMany(l => Enumerable.Range(0, l.Count).Select(i => new LabelledText($"{l.Label ?? "unlabelled"} text {i}", l.Label, $"g{i % 7}"))).ToList();

    [Fact]
    public void A_row_split_takes_each_labels_share_so_a_rare_class_is_still_measured()
    {
        // 15% of 60, 20, 7 and 1: 9, 3, 1 (1.05 rounded) and 0 (a lone row stays in training). A plain random 15% of 88
        // rows would often hold no "dolly" at all.
        var rows = Rows(("gpt2", 60), ("human", 20), ("dolly", 7), ("bloomz", 1));
        var (train, heldOut) = DetectorData.SplitRows(rows, 0.15, seed: 3);
        Assert.Equal(9, heldOut.Count(r => r.Label == "gpt2"));
        Assert.Equal(3, heldOut.Count(r => r.Label == "human"));
        Assert.Equal(1, heldOut.Count(r => r.Label == "dolly"));
        Assert.Equal(0, heldOut.Count(r => r.Label == "bloomz"));
        Assert.Equal(rows.Count, train.Count + heldOut.Count);
        Assert.Empty(train.Intersect(heldOut));
        Assert.Equal(rows.ToHashSet(), train.Concat(heldOut).ToHashSet());
    }

    [Fact]
    public void A_row_split_depends_on_the_seed_only()
    {
        var rows = Rows(("gpt2", 30), ("human", 30));
        Assert.Equal(DetectorData.SplitRows(rows, 0.2, seed: 1).HeldOut, DetectorData.SplitRows(rows, 0.2, seed: 1).HeldOut);
        Assert.NotEqual(DetectorData.SplitRows(rows, 0.2, seed: 1).HeldOut, DetectorData.SplitRows(rows, 0.2, seed: 2).HeldOut);
    }

    [Fact]
    public void A_row_split_of_lone_rows_still_holds_one_out_and_keeps_the_rest()
    {
        var rows = Rows(("gpt2", 1), ("human", 1), ("dolly", 1));
        var (train, heldOut) = DetectorData.SplitRows(rows, 0.15, seed: 3);
        Assert.Single(heldOut);
        Assert.Equal(2, train.Count);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void A_split_fraction_outside_zero_to_one_is_named(double fraction)
    {
        var e = Assert.Throws<UserFacingException>(() => DetectorData.SplitRows(Rows(("gpt2", 10)), fraction, seed: 1));
        Assert.Contains($"held-out fraction {fraction}", e.Message);
    }

    [Fact]
    public void A_group_split_never_puts_one_group_on_both_sides()
    {
        var rows = Rows(("gpt2", 40), ("human", 40));
        var (train, heldOut) = DetectorData.SplitByGroup(rows, 0.3, seed: 5);
        Assert.Equal(2, heldOut.Select(r => r.Group).Distinct().Count()); // 30% of 7 groups, rounded
        Assert.Empty(train.Select(r => r.Group).Intersect(heldOut.Select(r => r.Group)));
        Assert.Equal(rows.Count, train.Count + heldOut.Count);
    }
}
