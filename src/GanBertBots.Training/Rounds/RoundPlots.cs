using ScottPlot;

namespace GanBertBots.Training.Rounds;

/// <summary>Plots of the round report (ScottPlot 5, PNG).</summary>
public static class RoundPlots
{
    public const int Width = 800, Height = 450;

    /// <summary>The y range of a rate (never below 0 or above 1), with a sliver of room so points at 0 or 1 show whole.</summary>
    public static readonly (double Min, double Max) Rate = (-0.03, 1.03);

    /// <summary>
    /// One value per registered version, oldest first: a line through all rounds, promoted versions marked. Writes
    /// <paramref name="path"/> (<see cref="Width"/> × <see cref="Height"/>) and returns it.
    /// </summary>
    public static string OverRounds(string path, string title, string yLabel, IReadOnlyList<(string Version, double Value, bool Promoted)> points,
        (double Min, double Max)? range = null)
    {
        var plot = BuildOverRounds(title, yLabel, points, range);
        plot.SavePng(path, Width, Height);
        return path;
    }

    /// <summary>
    /// The chart of <see cref="OverRounds"/>, not yet drawn. The y axis is <paramref name="range"/> when given (rates);
    /// otherwise the values' span with a margin of at least 2% of their size, so that nearly equal values (a
    /// perplexity that barely moved) get ticks with different labels instead of one label repeated.
    /// </summary>
    public static Plot BuildOverRounds(string title, string yLabel, IReadOnlyList<(string Version, double Value, bool Promoted)> points,
        (double Min, double Max)? range = null)
    {
        var plot = new Plot();
        double[] xs = Enumerable.Range(1, points.Count).Select(i => (double)i).ToArray();
        double[] ys = points.Select(p => p.Value).ToArray();
        if (points.Count > 0)
        {
            var all = plot.Add.Scatter(xs, ys);
            all.LegendText = "candidate of each round";
            var promoted = points.Select((p, i) => (p, i)).Where(t => t.p.Promoted).ToList();
            if (promoted.Count > 0)
            {
                var marks = plot.Add.Markers(promoted.Select(t => xs[t.i]).ToArray(), promoted.Select(t => ys[t.i]).ToArray());
                marks.LegendText = "promoted";
                marks.MarkerStyle.Size = 12;
            }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, points.Select(p => p.Version).ToArray());
            plot.Axes.SetLimitsX(0.5, points.Count + 0.5);
            plot.ShowLegend(Edge.Bottom); // below the chart: never over the newest points
        }
        var (low, high) = range ?? Span(ys);
        plot.Axes.SetLimitsY(low, high);
        plot.Title(title);
        plot.XLabel("version (round)");
        plot.YLabel(yLabel);
        return plot;
    }

    static (double Low, double High) Span(double[] ys)
    {
        var finite = ys.Where(double.IsFinite).ToArray();
        if (finite.Length == 0) return (0, 1);
        double min = finite.Min(), max = finite.Max();
        double margin = Math.Max((max - min) * 0.1, Math.Max(Math.Abs(max), Math.Abs(min)) * 0.02);
        if (margin == 0) margin = 1; // all zero
        return (min - margin, max + margin);
    }
}
