namespace GanBertBots.Training.Rounds;

/// <summary>Plots of the round report (ScottPlot 5, PNG).</summary>
public static class RoundPlots
{
    /// <summary>
    /// One value per registered version, oldest first: a line through all rounds, promoted versions marked.
    /// Returns <paramref name="path"/>.
    /// </summary>
    public static string OverRounds(string path, string title, string yLabel, IReadOnlyList<(string Version, double Value, bool Promoted)> points)
    {
        var plot = new ScottPlot.Plot();
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
            plot.ShowLegend();
        }
        plot.Title(title);
        plot.XLabel("version (round)");
        plot.YLabel(yLabel);
        plot.SavePng(path, 800, 450);
        return path;
    }
}
