using ScottPlot;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>One line of a <see cref="LineChart"/>. A NaN or infinite X or Y leaves a gap in the line.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="X">X coordinates, same length as <paramref name="Y"/>.</param>
/// <param name="Y">Y coordinates.</param>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>A labelled vertical dashed line across a <see cref="LineChart"/> (e.g. the best epoch).</summary>
/// <param name="X">Position on the X axis.</param>
/// <param name="Label">Text drawn next to the line.</param>
public sealed record VerticalMarker(double X, string Label);

/// <summary>Line charts rendered to PNG with ScottPlot 5.</summary>
public static class LineChart
{
    private const int MaxPointsWithDots = 60;

    /// <summary>
    /// Draws the series as lines (with dots when there are few points) with a grid and a legend, and writes the PNG
    /// atomically. Non-finite values break the line; an isolated point is drawn as a dot. An empty series list gives
    /// empty axes.
    /// </summary>
    /// <param name="path">Destination .png file; missing folders are created.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="xLabel">X-axis label.</param>
    /// <param name="yLabel">Y-axis label.</param>
    /// <param name="series">The lines, coloured in order from a 10-colour palette (dashed after the tenth).</param>
    /// <param name="width">Image width in pixels (200 to 16384).</param>
    /// <param name="height">Image height in pixels (150 to 16384).</param>
    /// <param name="marker">Optional vertical marker.</param>
    /// <exception cref="ArgumentException">A series has X and Y of different lengths.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The size is out of range.</exception>
    public static void Save(
        string path,
        string title,
        string xLabel,
        string yLabel,
        IReadOnlyList<ChartSeries> series,
        int width = 900,
        int height = 560,
        VerticalMarker? marker = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        ChartCore.CheckSize(width, height);
        for (int i = 0; i < series.Count; i++)
        {
            ChartSeries s = series[i] ?? throw new ArgumentException($"Series {i} is null.", nameof(series));
            if (s.X is null || s.Y is null || s.X.Count != s.Y.Count)
            {
                throw new ArgumentException($"Series '{s.Name}' needs X and Y of the same length.", nameof(series));
            }
        }

        var plot = ChartCore.NewPlot(title, xLabel, yLabel);
        for (int i = 0; i < series.Count; i++)
        {
            AddSeries(plot, series[i], i);
        }

        if (marker is not null && double.IsFinite(marker.X))
        {
            var line = plot.Add.VerticalLine(marker.X, 1.5f, ChartCore.ToColor(ChartCore.MarkerColor), LinePattern.Dashed);
            if (!string.IsNullOrWhiteSpace(marker.Label))
            {
                line.Text = marker.Label;
                line.LabelFontSize = ChartCore.TickSize;
                line.LabelOppositeAxis = true; // above the plot, clear of the tick labels
            }
        }

        if (series.Count > 0)
        {
            plot.ShowLegend(Edge.Right); // outside the data area: never hides a curve
        }

        ChartCore.SavePng(path, plot, width, height);
    }

    internal static SkiaSharp.SKColor SeriesColor(int index) => ChartCore.Palette[index % ChartCore.Palette.Length];

    private static void AddSeries(Plot plot, ChartSeries s, int index)
    {
        Color color = ChartCore.ToColor(SeriesColor(index));
        bool dashed = index >= ChartCore.Palette.Length;
        int finite = Enumerable.Range(0, s.X.Count).Count(i => IsFinitePoint(s, i));
        bool dots = finite <= MaxPointsWithDots;

        // One scatter per run of finite points: non-finite values leave gaps whatever ScottPlot does with NaN.
        bool legendGiven = false;
        int start = 0;
        while (start < s.X.Count)
        {
            while (start < s.X.Count && !IsFinitePoint(s, start))
            {
                start++;
            }

            int end = start;
            while (end < s.X.Count && IsFinitePoint(s, end))
            {
                end++;
            }

            if (end > start)
            {
                double[] xs = Enumerable.Range(start, end - start).Select(i => s.X[i]).ToArray();
                double[] ys = Enumerable.Range(start, end - start).Select(i => s.Y[i]).ToArray();
                var scatter = plot.Add.Scatter(xs, ys, color);
                scatter.LineWidth = 2.5f;
                scatter.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
                scatter.MarkerSize = dots || xs.Length == 1 ? 6 : 0;
                if (!legendGiven)
                {
                    scatter.LegendText = s.Name;
                    legendGiven = true;
                }
            }

            start = end;
        }
    }

    private static bool IsFinitePoint(ChartSeries s, int i) => double.IsFinite(s.X[i]) && double.IsFinite(s.Y[i]);
}
