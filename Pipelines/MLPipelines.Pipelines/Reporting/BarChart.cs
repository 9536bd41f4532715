using SkiaSharp;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>Bar charts (e.g. comparing a metric across a sweep) rendered to PNG with SkiaSharp.</summary>
public static class BarChart
{
    /// <summary>
    /// Draws one bar per label with its value printed above it, on a nice 1-2-5 axis that always includes 0,
    /// and writes the PNG atomically. NaN values get no bar and the text "n/a"; crowded labels are slanted and shortened.
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

        ChartCore.SavePng(path, width, height, canvas => Draw(canvas, width, height, title, labels, values, yLabel));
    }

    private static void Draw(SKCanvas canvas, int width, int height, string title, IReadOnlyList<string> labels, IReadOnlyList<double> values, string yLabel)
    {
        var finite = values.Where(double.IsFinite).ToList();
        double lo = Math.Min(0, finite.Count == 0 ? 0 : finite.Min());
        double hi = Math.Max(0, finite.Count == 0 ? 1 : finite.Max());
        if (hi == lo)
        {
            hi = 1;
        }

        // Head-room for the value labels above the bars.
        double span = hi - lo;
        NiceScale ys = NiceScale.Create(lo < 0 ? lo - (span * 0.08) : lo, hi > 0 ? hi + (span * 0.08) : hi, Math.Clamp(height / 70, 3, 10));

        int n = labels.Count;
        float top = string.IsNullOrWhiteSpace(title) ? 20 : 48;
        float yTickWidth = ys.Ticks.Max(t => ChartText.Measure(ys.Format(t), ChartCore.TickSize));
        float left = 14 + (string.IsNullOrWhiteSpace(yLabel) ? 0 : 22) + yTickWidth + 8;
        float right = width - 20;
        float slot = n == 0 ? right - left : (right - left) / n;

        string[] names = labels.Select(l => l ?? string.Empty).ToArray();
        float widest = names.Length == 0 ? 0 : names.Max(s => ChartText.Measure(s, ChartCore.TickSize));
        bool slant = widest > slot - 6;
        float maxSlanted = Math.Min(220, height * 0.3f);
        if (slant)
        {
            names = names.Select(s => ChartText.Ellipsize(s, maxSlanted, ChartCore.TickSize)).ToArray();
            widest = names.Max(s => ChartText.Measure(s, ChartCore.TickSize));
        }

        float labelsHeight = slant ? (widest * 0.6f) + 16 : 24;
        float bottom = height - labelsHeight - 12;
        var plot = new SKRect(left, top, right, bottom);
        float MapY(double y) => (float)(plot.Bottom - ((y - ys.Min) / (ys.Max - ys.Min) * plot.Height));

        ChartCore.DrawTitle(canvas, title, width);
        using (SKPaint grid = ChartCore.Stroke(ChartCore.GridColor, 1, antialias: false))
        using (SKPaint tick = ChartCore.Stroke(ChartCore.AxisColor, 1, antialias: false))
        {
            foreach (double t in ys.Ticks)
            {
                float y = MathF.Round(MapY(t)) + 0.5f;
                canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
                canvas.DrawLine(plot.Left - 5, y, plot.Left, y, tick);
                ChartText.Draw(canvas, ys.Format(t), plot.Left - 8, y, ChartCore.TickSize, ChartCore.TextColor, SKTextAlign.Right);
            }
        }

        float zero = MapY(0);
        float barWidth = Math.Max(1, slot * 0.7f);
        float valueSize = Math.Clamp(slot * 0.3f, 8, ChartCore.TickSize);
        float cos = MathF.Cos(35 * MathF.PI / 180);
        for (int i = 0; i < n; i++)
        {
            float cx = plot.Left + ((i + 0.5f) * slot);
            double v = values[i];
            if (Math.Abs(v) < (ys.Max - ys.Min) * 1e-9)
            {
                v = 0; // Hide floating-point noise such as 5.55E-17.
            }
            if (double.IsFinite(v))
            {
                float y = MapY(v);
                using SKPaint fill = ChartCore.Fill(ChartCore.Palette[i % ChartCore.Palette.Length]);
                canvas.DrawRect(new SKRect(cx - (barWidth / 2), Math.Min(y, zero), cx + (barWidth / 2), Math.Max(y, zero)), fill);
                float ty = v >= 0 ? y - 9 : y + 9;
                ChartText.Draw(canvas, ChartCore.FormatValue(v), cx, ty, valueSize, ChartCore.TextColor, SKTextAlign.Center);
            }
            else
            {
                ChartText.Draw(canvas, "n/a", cx, zero - 9, valueSize, ChartCore.MarkerColor, SKTextAlign.Center);
            }

            if (slant)
            {
                // Slanted labels hang down-left from their bar: shorten the ones that would leave the image.
                string name = ChartText.Ellipsize(names[i], Math.Max(10, (cx - 4) / cos), ChartCore.TickSize);
                ChartText.DrawRotated(canvas, name, cx + 4, plot.Bottom + 10, -35, ChartCore.TickSize, ChartCore.TextColor, SKTextAlign.Right);
            }
            else
            {
                ChartText.Draw(canvas, names[i], cx, plot.Bottom + 14, ChartCore.TickSize, ChartCore.TextColor, SKTextAlign.Center);
            }
        }

        using (SKPaint axis = ChartCore.Stroke(ChartCore.AxisColor, 1, antialias: false))
        {
            canvas.DrawLine(plot.Left, MathF.Round(zero) + 0.5f, plot.Right, MathF.Round(zero) + 0.5f, axis);
            canvas.DrawLine(plot.Left + 0.5f, plot.Top, plot.Left + 0.5f, plot.Bottom, axis);
        }

        if (!string.IsNullOrWhiteSpace(yLabel))
        {
            ChartText.DrawRotated(canvas, ChartText.Ellipsize(yLabel, plot.Height, ChartCore.LabelSize), 18, plot.MidY, -90, ChartCore.LabelSize, ChartCore.TextColor);
        }
    }
}
