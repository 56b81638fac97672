using ScottPlot;

namespace GanBertBots.Training.Detector;

/// <summary>The reliability diagram of a detector's P(person): predicted against observed, before and after calibration (ScottPlot 5).</summary>
public static class CalibrationPlots
{
    public const int Width = 720, Height = 640;

    public static void ReliabilityDiagram(CalibrationReport report, string path, string title, bool calibrated)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        BuildReliabilityDiagram(report, title, calibrated).SavePng(path, Width, Height);
    }

    /// <summary>
    /// One point per non-empty bin at (mean predicted P(person), share written by a person), sized by nothing but drawn
    /// over the diagonal a perfectly calibrated detector would follow; the raw softmax and, when there is one, the calibration.
    /// </summary>
    public static Plot BuildReliabilityDiagram(CalibrationReport report, string title, bool calibrated)
    {
        var plot = new Plot();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.Color = Colors.Gray;
        diagonal.LegendText = "perfectly calibrated";
        void Series(IReadOnlyList<ReliabilityBin> bins, string name, Color color)
        {
            var used = bins.Where(b => b.Count > 0).ToList();
            if (used.Count == 0) return;
            var s = plot.Add.Scatter(used.Select(b => b.MeanPredicted).ToArray(), used.Select(b => b.ObservedFrequency).ToArray());
            s.LegendText = name;
            s.Color = color;
            s.MarkerSize = 8;
        }
        Series(report.Before, $"raw softmax: ECE {report.EceBefore:0.000}, Brier {report.BrierBefore:0.000}", Colors.OrangeRed);
        if (calibrated) Series(report.After, $"calibrated: ECE {report.EceAfter:0.000}, Brier {report.BrierAfter:0.000}", Colors.SteelBlue);
        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        plot.XLabel($"predicted P(person) (mean of each of {CalibrationMetrics.Bins} equal-width bins)");
        plot.YLabel("share written by a person");
        plot.Title($"{title}\nreliability on {report.Texts} texts");
        plot.Axes.Title.Label.FontSize = 14;
        plot.ShowLegend(Edge.Bottom);
        return plot;
    }
}
