using System.Buffers.Binary;
using GanBertBots.Training.Detector;
using GanBertBots.Training.Rounds;
using ScottPlot;

namespace GanBertBots.Tests.Training;

/// <summary>
/// Every chart the product draws, rendered with the data that used to break it, then checked for what a reader needs:
/// the image size, the axis range, and tick labels that differ from each other. GANBERTBOTS_PLOTS_DIR=DIR keeps the
/// PNGs there for a person to look at.
/// </summary>
public sealed class PlotTests : IDisposable
{
    readonly string _dir = Environment.GetEnvironmentVariable("GANBERTBOTS_PLOTS_DIR") is { Length: > 0 } keep
        ? Directory.CreateDirectory(keep).FullName
        : Directory.CreateTempSubdirectory("ganbertbots-plots-").FullName;

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("GANBERTBOTS_PLOTS_DIR") is not { Length: > 0 }) Directory.Delete(_dir, recursive: true);
    }

    static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    static string[] MajorLabels(IAxis axis) => axis.TickGenerator.Ticks.Where(t => t.IsMajor && t.Label.Length > 0).Select(t => t.Label).ToArray();

    [Fact]
    public void Perplexity_that_barely_moved_gets_distinct_y_labels()
    {
        var points = new[] { ("v0001", 1875.012, true), ("v0002", 1875.031, false), ("v0003", 1875.044, true), ("v0004", 1875.020, false) };
        var plot = RoundPlots.BuildOverRounds("Generator held-out perplexity", "perplexity", points);
        plot.RenderInMemory(RoundPlots.Width, RoundPlots.Height);
        var labels = MajorLabels(plot.Axes.Left);
        Assert.True(labels.Length >= 3, string.Join(" | ", labels));
        Assert.Equal(labels.Length, labels.Distinct().Count());
        var limits = plot.Axes.GetLimits();
        Assert.InRange(limits.Bottom, 1800, 1875.012);
        Assert.InRange(limits.Top, 1875.044, 1950);

        string path = RoundPlots.OverRounds(Path.Combine(_dir, "perplexity.png"), "Generator held-out perplexity", "perplexity", points);
        Assert.Equal((RoundPlots.Width, RoundPlots.Height), PngSize(path));
    }

    [Fact]
    public void A_fool_rate_is_drawn_from_0_to_1_even_when_every_round_scored_0()
    {
        var points = new[] { ("v0001", 0.0, true), ("v0002", 0.0, false) };
        var plot = RoundPlots.BuildOverRounds("Fool rate against that round's detector", "fool rate", points, RoundPlots.Rate);
        plot.RenderInMemory(RoundPlots.Width, RoundPlots.Height);
        var limits = plot.Axes.GetLimits();
        Assert.InRange(limits.Bottom, -0.05, 0);
        Assert.InRange(limits.Top, 1, 1.05);
        Assert.DoesNotContain(MajorLabels(plot.Axes.Left), l => l.StartsWith('-') || l.StartsWith('−'));
        RoundPlots.OverRounds(Path.Combine(_dir, "fool_rate.png"), "Fool rate against that round's detector", "fool rate", points, RoundPlots.Rate);
    }

    [Fact]
    public void A_two_class_confusion_matrix_is_wide_enough_for_its_title()
    {
        var report = new EvaluationReport(["human", "gpt2"], ["human", "gpt2"], new[,] { { 40, 10 }, { 7, 43 } }, 100, 0,
            0.83, 0.83, 0.66, [], 0.83);
        string title = "detector v0007 (round 20261205T031500Z): 100 held-out texts";
        var (plot, width, height) = DetectorPlots.BuildConfusionMatrix(report, title);
        Assert.True(width >= 80 + 8 * title.Length, $"{width} px for a {title.Length}-character title");
        Assert.True(height >= 480);
        string path = Path.Combine(_dir, "confusion_matrix.png");
        DetectorPlots.ConfusionMatrix(report, path, title);
        Assert.Equal((width, height), PngSize(path));
        plot.RenderInMemory(width, height);
        Assert.Equal(["human", "gpt2"], MajorLabels(plot.Axes.Bottom));
    }

    [Fact]
    public void Training_curves_tick_whole_epochs_and_keep_the_legend_off_the_data()
    {
        var history = Enumerable.Range(1, 3).Select(e => new EpochRecord(e, 1.2 / e, 0.7, 0.9 / e, 0.5 + 0.1 * e, 0.45 + 0.1 * e, 0.4 + 0.1 * e, 60))
            .ToList();
        var (losses, accuracy) = DetectorPlots.BuildTrainingCurves(history, "GAN-BERT bert");
        foreach (var plot in new[] { losses, accuracy })
        {
            plot.RenderInMemory(DetectorPlots.CurveWidth, DetectorPlots.CurveHeight);
            Assert.Equal(["1", "2", "3"], MajorLabels(plot.Axes.Bottom));
            var limits = plot.Axes.GetLimits();
            Assert.Equal((0.5, 3.5), (limits.Left, limits.Right));
        }
        foreach (var path in DetectorPlots.TrainingCurves(history, _dir, "GAN-BERT bert"))
            Assert.Equal((DetectorPlots.CurveWidth, DetectorPlots.CurveHeight), PngSize(path));
    }

    [Fact]
    public void Step_curves_name_their_smoothing_under_the_axis_not_in_a_second_title_line()
    {
        var steps = Enumerable.Range(0, 120).Select(i => new StepLosses(2.0 / (1 + i * 0.05), 0.7, 1.5 / (1 + i * 0.05), 8, 4)).ToList();
        var plot = DetectorPlots.BuildStepCurves(steps, 40, "detector round training");
        Assert.DoesNotContain("\n", plot.Axes.Title.Label.Text);
        Assert.Contains("moving average over 6 steps", plot.Axes.Bottom.Label.Text);
        string path = DetectorPlots.StepCurves(steps, 40, Path.Combine(_dir, "detector-training.png"), "detector round training");
        Assert.Equal((DetectorPlots.CurveWidth, DetectorPlots.CurveHeight), PngSize(path));
    }
}
