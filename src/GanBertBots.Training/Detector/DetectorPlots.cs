using ScottPlot;

namespace GanBertBots.Training.Detector;

/// <summary>PNG charts of a detector: its confusion matrix and its training curves (ScottPlot 5).</summary>
public static class DetectorPlots
{
    /// <summary>Cells coloured by the row's share (recall per true label), each labelled with its count. Rows: true label; columns: predicted.</summary>
    public static void ConfusionMatrix(EvaluationReport report, string path, string title)
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
        plot.Title($"{title}\naccuracy {report.Accuracy:P1}, macro-F1 {report.MacroF1:F3}, MCC {report.Mcc:F3}");
        plot.SavePng(path, 160 + 110 * cols, 160 + 70 * rows);
    }

    /// <summary>Two charts: losses per epoch, and accuracy (train on labelled rows, validation) per epoch.</summary>
    public static IReadOnlyList<string> TrainingCurves(IReadOnlyList<EpochRecord> history, string directory, string title)
    {
        if (history.Count == 0) return [];
        Directory.CreateDirectory(directory);
        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();

        var losses = new Plot();
        void Line(Plot p, double[] ys, string name)
        {
            var s = p.Add.Scatter(epochs, ys);
            s.LegendText = name;
            s.MarkerSize = 6;
        }
        Line(losses, history.Select(h => h.DiscriminatorLoss).ToArray(), "L_D (discriminator)");
        if (history.Any(h => h.GeneratorLoss != 0)) Line(losses, history.Select(h => h.GeneratorLoss).ToArray(), "L_G (generator)");
        Line(losses, history.Select(h => h.SupervisedLoss).ToArray(), "L_sup (labelled rows)");
        losses.Title($"{title}: losses");
        losses.XLabel("epoch");
        losses.YLabel("mean loss");
        losses.ShowLegend();
        string lossPath = Path.Combine(directory, "training-losses.png");
        losses.SavePng(lossPath, 800, 500);

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
        accuracy.XLabel("epoch");
        accuracy.YLabel("fraction");
        accuracy.ShowLegend();
        string accPath = Path.Combine(directory, "training-accuracy.png");
        accuracy.SavePng(accPath, 800, 500);
        return [lossPath, accPath];
    }
    /// <summary>
    /// Losses per optimisation step (L_D, L_G, L_sup), each smoothed by a moving average over about a twentieth of the run,
    /// with dotted lines where epochs end: for short runs (a round's one or two epochs) where per-epoch curves have too few points.
    /// </summary>
    public static string StepCurves(IReadOnlyList<StepLosses> steps, int stepsPerEpoch, string path, string title)
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
        plot.Title(window > 1 ? $"{title}\n(moving average over {window} steps)" : title);
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 800, 500);
        return path;
    }
}
