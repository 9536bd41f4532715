using SkiaSharp;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>One line of a <see cref="LineChart"/>. A NaN or infinite X or Y leaves a gap in the line.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="X">X coordinates, same length as <paramref name="Y"/>.</param>
/// <param name="Y">Y coordinates.</param>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>A labelled vertical dashed line across a <see cref="LineChart"/> (e.g. the best epoch).</summary>
/// <param name="X">Position on the X axis.</param>
/// <param name="Label">Text drawn next to the line's top.</param>
public sealed record VerticalMarker(double X, string Label);

/// <summary>Line charts rendered to PNG with SkiaSharp.</summary>
public static class LineChart
{
    private const int MaxPointsWithDots = 60;

    /// <summary>
    /// Draws the series as lines (with dots when there are few points) on nice 1-2-5 axes with a grid and a
    /// legend, and writes the PNG atomically. Non-finite values break the line; an isolated point is drawn as a dot.
    /// An empty series list gives empty axes.
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

        ChartCore.SavePng(path, width, height, canvas => Draw(canvas, width, height, title, xLabel, yLabel, series, marker));
    }

    private static void Draw(
        SKCanvas canvas, int width, int height, string title, string xLabel, string yLabel,
        IReadOnlyList<ChartSeries> series, VerticalMarker? marker)
    {
        (double xMin, double xMax, double yMin, double yMax) = DataBounds(series, marker);
        NiceScale xs = NiceScale.Create(xMin, xMax, Math.Clamp(width / 110, 3, 12));
        NiceScale ys = NiceScale.Create(yMin, yMax, Math.Clamp(height / 70, 3, 10));

        // Layout: title, legend rows, plot, x ticks + label; y label + ticks on the left.
        float top = string.IsNullOrWhiteSpace(title) ? 12 : 40;
        List<LegendItem> legend = LayoutLegend(series, width - 40, out float legendHeight);
        float legendTop = top;
        top += legendHeight + 8;
        float yTickWidth = ys.Ticks.Max(t => ChartText.Measure(ys.Format(t), ChartCore.TickSize));
        float left = 14 + (string.IsNullOrWhiteSpace(yLabel) ? 0 : 22) + yTickWidth + 8;
        float right = width - 24;
        float bottom = height - (string.IsNullOrWhiteSpace(xLabel) ? 30 : 52);
        if (bottom - top < 40)
        {
            top = Math.Max(4, bottom - 40);
        }

        var plot = new SKRect(left, top, right, bottom);

        float MapX(double x) => (float)(plot.Left + ((x - xs.Min) / (xs.Max - xs.Min) * plot.Width));
        float MapY(double y) => (float)(plot.Bottom - ((y - ys.Min) / (ys.Max - ys.Min) * plot.Height));

        ChartCore.DrawTitle(canvas, title, width);

        // Grid and ticks.
        using (SKPaint grid = ChartCore.Stroke(ChartCore.GridColor, 1, antialias: false))
        using (SKPaint tick = ChartCore.Stroke(ChartCore.AxisColor, 1, antialias: false))
        {
            foreach (double t in xs.Ticks)
            {
                float x = MathF.Round(MapX(t)) + 0.5f;
                canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
                canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + 5, tick);
                ChartText.Draw(canvas, xs.Format(t), x, plot.Bottom + 15, ChartCore.TickSize, ChartCore.TextColor, SKTextAlign.Center);
            }

            foreach (double t in ys.Ticks)
            {
                float y = MathF.Round(MapY(t)) + 0.5f;
                canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
                canvas.DrawLine(plot.Left - 5, y, plot.Left, y, tick);
                ChartText.Draw(canvas, ys.Format(t), plot.Left - 8, y, ChartCore.TickSize, ChartCore.TextColor, SKTextAlign.Right);
            }

            canvas.DrawRect(plot, tick);
        }

        if (!string.IsNullOrWhiteSpace(xLabel))
        {
            ChartText.Draw(canvas, ChartText.Ellipsize(xLabel, plot.Width, ChartCore.LabelSize), plot.MidX, height - 16, ChartCore.LabelSize, ChartCore.TextColor, SKTextAlign.Center);
        }

        if (!string.IsNullOrWhiteSpace(yLabel))
        {
            ChartText.DrawRotated(canvas, ChartText.Ellipsize(yLabel, plot.Height, ChartCore.LabelSize), 18, plot.MidY, -90, ChartCore.LabelSize, ChartCore.TextColor);
        }

        canvas.Save();
        canvas.ClipRect(SKRect.Inflate(plot, 4, 4));

        if (marker is not null && double.IsFinite(marker.X))
        {
            float x = MapX(marker.X);
            using SKPaint dash = ChartCore.Stroke(ChartCore.MarkerColor, 1.5f);
            dash.PathEffect = SKPathEffect.CreateDash([6, 4], 0);
            canvas.DrawLine(x, plot.Top, x, plot.Bottom, dash);
        }

        for (int i = 0; i < series.Count; i++)
        {
            DrawSeries(canvas, series[i], SeriesColor(i), i >= ChartCore.Palette.Length, MapX, MapY);
        }

        canvas.Restore();

        if (marker is not null && double.IsFinite(marker.X) && !string.IsNullOrWhiteSpace(marker.Label))
        {
            float x = MapX(marker.X);
            float labelWidth = ChartText.Measure(marker.Label, ChartCore.TickSize);
            bool fitsRight = x + 6 + labelWidth <= plot.Right - 2;
            float lx = fitsRight ? x + 6 : x - 6;
            float boxLeft = fitsRight ? lx - 3 : lx - labelWidth - 3;
            float boxRight = fitsRight ? lx + labelWidth + 3 : lx + 3;

            // Put the label at the top or the bottom of the plot, whichever has fewer data points under it.
            var topBox = new SKRect(boxLeft, plot.Top + 4, boxRight, plot.Top + 22);
            var bottomBox = new SKRect(boxLeft, plot.Bottom - 22, boxRight, plot.Bottom - 4);
            SKRect box = PointsNear(series, SKRect.Inflate(topBox, 6, 6), MapX, MapY) <= PointsNear(series, SKRect.Inflate(bottomBox, 6, 6), MapX, MapY)
                ? topBox
                : bottomBox;
            using (SKPaint bg = ChartCore.Fill(new SKColor(255, 255, 255, 220)))
            {
                canvas.DrawRect(box, bg);
            }

            ChartText.Draw(canvas, marker.Label, lx, box.MidY, ChartCore.TickSize, ChartCore.MarkerColor, fitsRight ? SKTextAlign.Left : SKTextAlign.Right);
        }

        DrawLegend(canvas, legend, legendTop);
    }

    internal static SKColor SeriesColor(int index) => ChartCore.Palette[index % ChartCore.Palette.Length];

    private static void DrawSeries(SKCanvas canvas, ChartSeries s, SKColor color, bool dashed, Func<double, float> mapX, Func<double, float> mapY)
    {
        using SKPaint line = ChartCore.Stroke(color, 2.5f);
        line.StrokeJoin = SKStrokeJoin.Round;
        line.StrokeCap = SKStrokeCap.Round;
        if (dashed)
        {
            line.PathEffect = SKPathEffect.CreateDash([10, 5], 0);
        }

        using SKPaint dot = ChartCore.Fill(color);
        int finiteCount = 0;
        for (int i = 0; i < s.X.Count; i++)
        {
            if (IsFinitePoint(s, i))
            {
                finiteCount++;
            }
        }

        bool dots = finiteCount <= MaxPointsWithDots;
        using var path = new SKPath();
        bool open = false;
        for (int i = 0; i < s.X.Count; i++)
        {
            if (!IsFinitePoint(s, i))
            {
                open = false;
                continue;
            }

            float x = mapX(s.X[i]);
            float y = mapY(s.Y[i]);
            if (open)
            {
                path.LineTo(x, y);
            }
            else
            {
                path.MoveTo(x, y);
                open = true;
            }

            bool isolated = (i == 0 || !IsFinitePoint(s, i - 1)) && (i == s.X.Count - 1 || !IsFinitePoint(s, i + 1));
            if (dots || isolated)
            {
                canvas.DrawCircle(x, y, isolated ? 4f : 3f, dot);
            }
        }

        canvas.DrawPath(path, line);
    }

    private static int PointsNear(IReadOnlyList<ChartSeries> series, SKRect box, Func<double, float> mapX, Func<double, float> mapY)
    {
        int count = 0;
        foreach (ChartSeries s in series)
        {
            for (int i = 0; i < s.X.Count; i++)
            {
                if (IsFinitePoint(s, i) && box.Contains(mapX(s.X[i]), mapY(s.Y[i])))
                {
                    count++;
                }

                // Also sample the segment to the next point, so lines crossing the box count.
                if (i + 1 < s.X.Count && IsFinitePoint(s, i) && IsFinitePoint(s, i + 1))
                {
                    for (int k = 1; k < 8; k++)
                    {
                        double t = k / 8.0;
                        double x = s.X[i] + ((s.X[i + 1] - s.X[i]) * t);
                        double y = s.Y[i] + ((s.Y[i + 1] - s.Y[i]) * t);
                        if (box.Contains(mapX(x), mapY(y)))
                        {
                            count++;
                        }
                    }
                }
            }
        }

        return count;
    }

    private static bool IsFinitePoint(ChartSeries s, int i) => double.IsFinite(s.X[i]) && double.IsFinite(s.Y[i]);

    private static (double XMin, double XMax, double YMin, double YMax) DataBounds(IReadOnlyList<ChartSeries> series, VerticalMarker? marker)
    {
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity;
        double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (ChartSeries s in series)
        {
            for (int i = 0; i < s.X.Count; i++)
            {
                if (IsFinitePoint(s, i))
                {
                    xMin = Math.Min(xMin, s.X[i]);
                    xMax = Math.Max(xMax, s.X[i]);
                    yMin = Math.Min(yMin, s.Y[i]);
                    yMax = Math.Max(yMax, s.Y[i]);
                }
            }
        }

        if (marker is not null && double.IsFinite(marker.X))
        {
            xMin = Math.Min(xMin, marker.X);
            xMax = Math.Max(xMax, marker.X);
        }

        if (!double.IsFinite(xMin))
        {
            (xMin, xMax) = (0, 1);
        }

        if (!double.IsFinite(yMin))
        {
            (yMin, yMax) = (0, 1);
        }

        return (xMin, xMax, yMin, yMax);
    }

    private sealed record LegendItem(string Text, SKColor Color, bool Dashed, float X, float Row);

    private static List<LegendItem> LayoutLegend(IReadOnlyList<ChartSeries> series, float available, out float height)
    {
        var items = new List<LegendItem>();
        height = 0;
        if (series.Count == 0)
        {
            return items;
        }

        const float swatch = 26, gap = 6, spacing = 22;
        float maxText = Math.Max(40, available - swatch - gap);
        var texts = series.Select(s => ChartText.Ellipsize(string.IsNullOrEmpty(s.Name) ? "(unnamed)" : s.Name, maxText, ChartCore.LabelSize)).ToList();
        var rows = new List<List<(int Index, float Width)>> { new() };
        float rowWidth = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            float w = swatch + gap + ChartText.Measure(texts[i], ChartCore.LabelSize);
            if (rows[^1].Count > 0 && rowWidth + spacing + w > available)
            {
                rows.Add([]);
                rowWidth = 0;
            }

            rowWidth += (rows[^1].Count > 0 ? spacing : 0) + w;
            rows[^1].Add((i, w));
        }

        float center = (available / 2) + 20;
        for (int r = 0; r < rows.Count; r++)
        {
            float total = rows[r].Sum(e => e.Width) + (spacing * (rows[r].Count - 1));
            float x = center - (total / 2);
            foreach ((int index, float w) in rows[r])
            {
                items.Add(new LegendItem(texts[index], SeriesColor(index), index >= ChartCore.Palette.Length, x, r));
                x += w + spacing;
            }
        }

        height = rows.Count * 20;
        return items;
    }

    private static void DrawLegend(SKCanvas canvas, List<LegendItem> items, float top)
    {
        foreach (LegendItem item in items)
        {
            float y = top + (item.Row * 20) + 10;
            using SKPaint line = ChartCore.Stroke(item.Color, 3f);
            if (item.Dashed)
            {
                line.PathEffect = SKPathEffect.CreateDash([6, 3], 0);
            }

            canvas.DrawLine(item.X, y, item.X + 26, y, line);
            ChartText.Draw(canvas, item.Text, item.X + 32, y, ChartCore.LabelSize, ChartCore.TextColor);
        }
    }
}
