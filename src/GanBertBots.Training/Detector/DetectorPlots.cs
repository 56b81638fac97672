using ScottPlot;

namespace GanBertBots.Training.Detector;

/// <summary>PNG charts of a detector: its confusion matrix and its training curves (ScottPlot 5).</summary>
public static class DetectorPlots
{
    /// <summary>Cells coloured by the row's share (recall per true label), each labelled with its count. Rows: true label; columns: predicted.</summary>
    public static void ConfusionMatrix(EvaluationReport report, string path, string title)
    {
        var (plot, width, height) = BuildConfusionMatrix(report, title);
        plot.SavePng(path, width, height);
    }

    /// <summary>
    /// The confusion matrix chart and the size to draw it at: wide and tall enough for its two-line title and the class
    /// names whatever the number of classes (a 2-class matrix used to be 380 px wide and cut its title off).
    /// </summary>
    public static (Plot Plot, int Width, int Height) BuildConfusionMatrix(EvaluationReport report, string title)
    {
        var plot = new Plot();
        var colormap = new ScottPlot.Colormaps.Viridis();
        int rows = report.TrueLabels.Count, cols = report.Classes.Count;
        for (int r = 0; r < rows; r++)
        {
            int rowTotal = Enumerable.Range(0, cols).Sum(c => report.Confusion[r, c]);
            for (int c = 0; c < cols; c++)
            {
                int count = report.Confusion[r, c];
                double share = rowTotal == 0 ? 0 : (double)count / rowTotal;
                var cell = plot.Add.Rectangle(c - 0.5, c + 0.5, -r - 0.5, -r + 0.5);
                cell.FillStyle.Color = colormap.GetColor(share);
                cell.LineStyle.Color = Colors.White;
                var text = plot.Add.Text(count.ToString(), c, -r);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = 16;
                text.LabelFontColor = share > 0.6 ? Colors.Black : Colors.White;
            }
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, cols).Select(c => (double)c).ToArray(), report.Classes.ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, rows).Select(r => (double)-r).ToArray(), report.TrueLabels.ToArray());
        plot.Axes.SetLimits(-0.5, cols - 0.5, -rows + 0.5, 0.5);
        plot.XLabel("predicted");
        plot.YLabel("true label");
        string scores = report.Scored == 0 ? "no text had a label among the detector's classes"
            : $"accuracy {report.Accuracy:P1}, macro-F1 {report.MacroF1:F3}, MCC {report.Mcc:F3}";
        plot.Title($"{title}\n{scores}");
        plot.Axes.Title.Label.FontSize = 14;
        // Room for the title (about 8 px a character at 14 pt) and for every cell.
        int titleWidth = 80 + 8 * Math.Max(title.Length, scores.Length);
        int width = Math.Max(Math.Max(640, titleWidth), 220 + 110 * cols);
        int height = Math.Max(480, 240 + 70 * rows);
        return (plot, width, height);
    }

    public const int CurveWidth = 800, CurveHeight = 540;

    /// <summary>Two charts: losses per epoch, and accuracy (train on labelled rows, validation) per epoch.</summary>
    public static IReadOnlyList<string> TrainingCurves(IReadOnlyList<EpochRecord> history, string directory, string title)
    {
        if (history.Count == 0) return [];
        Directory.CreateDirectory(directory);
        var (losses, accuracy) = BuildTrainingCurves(history, title);
        string lossPath = Path.Combine(directory, "training-losses.png");
        losses.SavePng(lossPath, CurveWidth, CurveHeight);
        string accPath = Path.Combine(directory, "training-accuracy.png");
        accuracy.SavePng(accPath, CurveWidth, CurveHeight);
        return [lossPath, accPath];
    }

    /// <summary>
    /// The charts of <see cref="TrainingCurves"/>: ticks only at whole epochs, half an epoch of room at each end, and
    /// the legend below the chart, where it cannot cover the last points.
    /// </summary>
    public static (Plot Losses, Plot Accuracy) BuildTrainingCurves(IReadOnlyList<EpochRecord> history, string title)
    {
        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        void Line(Plot p, double[] ys, string name)
        {
            var s = p.Add.Scatter(epochs, ys);
            s.LegendText = name;
            s.MarkerSize = 6;
        }
        void EpochAxis(Plot p)
        {
            p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(epochs, epochs.Select(e => e.ToString("0")).ToArray());
            p.Axes.SetLimitsX(epochs.Min() - 0.5, epochs.Max() + 0.5);
            p.XLabel("epoch");
            p.ShowLegend(Edge.Bottom);
        }

        var losses = new Plot();
        Line(losses, history.Select(h => h.DiscriminatorLoss).ToArray(), "L_D (discriminator)");
        if (history.Any(h => h.GeneratorLoss != 0)) Line(losses, history.Select(h => h.GeneratorLoss).ToArray(), "L_G (generator)");
        Line(losses, history.Select(h => h.SupervisedLoss).ToArray(), "L_sup (labelled rows)");
        losses.Title($"{title}: losses");
        losses.YLabel("mean loss");
        EpochAxis(losses);

        var accuracy = new Plot();
        Line(accuracy, history.Select(h => h.TrainAccuracy).ToArray(), "train accuracy (labelled rows)");
        if (history.All(h => h.ValidationAccuracy is not null))
        {
            Line(accuracy, history.Select(h => h.ValidationAccuracy!.Value).ToArray(), "validation accuracy");
            Line(accuracy, history.Select(h => h.ValidationMacroF1!.Value).ToArray(), "validation macro-F1 (chooses the epoch)");
        }
        if (history.All(h => h.TestAccuracy is not null))
            Line(accuracy, history.Select(h => h.TestAccuracy!.Value).ToArray(), "test accuracy (report only)");
        accuracy.Axes.SetLimitsY(0, 1.02);
        accuracy.Title($"{title}: accuracy");
        accuracy.YLabel("fraction");
        EpochAxis(accuracy);
        return (losses, accuracy);
    }

    /// <summary>
    /// Losses per optimisation step (L_D, L_G, L_sup), each smoothed by a moving average over about a twentieth of the run,
    /// with dotted lines where epochs end: for short runs (a round's one or two epochs) where per-epoch curves have too few points.
    /// </summary>
    public static string StepCurves(IReadOnlyList<StepLosses> steps, int stepsPerEpoch, string path, string title)
    {
        var plot = BuildStepCurves(steps, stepsPerEpoch, title);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, CurveWidth, CurveHeight);
        return path;
    }

    /// <summary>The chart of <see cref="StepCurves"/>: the smoothing named under the step axis, the legend below.</summary>
    public static Plot BuildStepCurves(IReadOnlyList<StepLosses> steps, int stepsPerEpoch, string title)
    {
        var plot = new Plot();
        int window = Math.Max(1, steps.Count / 20);
        double[] xs = Enumerable.Range(1, steps.Count).Select(i => (double)i).ToArray();
        double[] Smooth(Func<StepLosses, double> pick)
        {
            var ys = new double[steps.Count];
            double sum = 0;
            for (int i = 0; i < steps.Count; i++)
            {
                sum += pick(steps[i]);
                if (i >= window) sum -= pick(steps[i - window]);
                ys[i] = sum / Math.Min(i + 1, window);
            }
            return ys;
        }
        void Line(double[] ys, string name)
        {
            var s = plot.Add.Scatter(xs, ys);
            s.LegendText = name;
            s.MarkerSize = steps.Count <= 50 ? 4 : 0;
        }
        Line(Smooth(s => s.Discriminator), "L_D (discriminator)");
        if (steps.Any(s => s.Generator != 0)) Line(Smooth(s => s.Generator), "L_G (generator)");
        Line(Smooth(s => s.Supervised), "L_sup (labelled rows, weighted)");
        for (int end = stepsPerEpoch; stepsPerEpoch > 0 && end < steps.Count; end += stepsPerEpoch)
        {
            var line = plot.Add.VerticalLine(end + 0.5);
            line.LinePattern = LinePattern.Dotted;
            line.Color = Colors.Gray;
        }
        plot.Title(title);
        plot.XLabel(window > 1 ? $"step (moving average over {window} steps; dotted: end of an epoch)" : "step (dotted: end of an epoch)");
        plot.YLabel("loss");
        if (steps.Count > 0) plot.Axes.SetLimitsX(0.5, steps.Count + 0.5);
        plot.ShowLegend(Edge.Bottom);
        return plot;
    }
}
