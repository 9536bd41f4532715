using ScottPlot;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>Bar charts (e.g. comparing a metric across a sweep) rendered to PNG with ScottPlot 5.</summary>
public static class BarChart
{
    /// <summary>
    /// Draws one bar per label with its value printed above it, on an axis that always includes 0, and writes the
    /// PNG atomically. NaN values get no bar and the text "n/a"; crowded labels are slanted.
    /// </summary>
    /// <param name="path">Destination .png file; missing folders are created.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="labels">Bar labels.</param>
    /// <param name="values">Bar values, same length as <paramref name="labels"/>.</param>
    /// <param name="yLabel">Y-axis label.</param>
    /// <param name="width">Image width in pixels (200 to 16384).</param>
    /// <param name="height">Image height in pixels (150 to 16384).</param>
    /// <exception cref="ArgumentException">Labels and values differ in length, or a value is infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The size is out of range.</exception>
    public static void Save(
        string path,
        string title,
        IReadOnlyList<string> labels,
        IReadOnlyList<double> values,
        string yLabel,
        int width = 900,
        int height = 560)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(values);
        ChartCore.CheckSize(width, height);
        if (labels.Count != values.Count)
        {
            throw new ArgumentException($"{labels.Count} labels but {values.Count} values.", nameof(values));
        }

        if (values.Any(double.IsInfinity))
        {
            throw new ArgumentException("Values must be finite (NaN is shown as n/a).", nameof(values));
        }

        var plot = ChartCore.NewPlot(title, string.Empty, yLabel);
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < values.Count; i++)
        {
            double v = values[i];
            ticks.Add(new Tick(i, labels[i] ?? string.Empty, isMajor: true));
            if (double.IsFinite(v))
            {
                bars.Add(new Bar
                {
                    Position = i,
                    Value = v,
                    FillColor = ChartCore.ToColor(ChartCore.Palette[i % ChartCore.Palette.Length]),
                    LineWidth = 0,
                    Label = ChartCore.FormatValue(v),
                    Size = 0.7,
                });
            }
            else
            {
                var text = plot.Add.Text("n/a", i, 0);
                text.LabelFontSize = ChartCore.TickSize;
                text.LabelFontColor = ChartCore.ToColor(ChartCore.MarkerColor);
                text.LabelAlignment = Alignment.LowerCenter;
            }
        }

        if (bars.Count > 0)
        {
            var barPlot = plot.Add.Bars(bars);
            barPlot.ValueLabelStyle.FontSize = ChartCore.TickSize;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        double widest = labels.Count == 0 ? 0 : labels.Max(l => (l ?? string.Empty).Length) * ChartCore.TickSize * 0.6;
        if (labels.Count > 0 && widest > (width - 100.0) / labels.Count)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -35;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        }

        var finite = values.Where(double.IsFinite).ToList();
        double lo = Math.Min(0, finite.Count == 0 ? 0 : finite.Min());
        double hi = Math.Max(0, finite.Count == 0 ? 1 : finite.Max());
        if (hi == lo)
        {
            hi = 1;
        }

        double span = hi - lo;
        plot.Axes.SetLimits(-0.6, Math.Max(0.6, values.Count - 0.4), lo < 0 ? lo - (span * 0.1) : 0, hi > 0 ? hi + (span * 0.1) : 0);
        ChartCore.SavePng(path, plot, width, height);
    }
}
