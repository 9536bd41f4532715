using System.Globalization;
using SkiaSharp;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>Confusion-matrix heatmaps rendered to PNG with SkiaSharp.</summary>
public static class ConfusionMatrixChart
{
    private static readonly SKColor Low = new(0xF7, 0xFB, 0xFF);
    private static readonly SKColor Mid = new(0x6B, 0xAE, 0xD6);
    private static readonly SKColor High = new(0x08, 0x30, 0x6B);

    /// <summary>
    /// Draws a heatmap of <paramref name="matrix"/> (rows = true class, columns = predicted class) with the count
    /// in every cell (and the row percentage when <paramref name="normalize"/> and the cells are large enough),
    /// axis titles "Predicted" and "True", and a colour bar; the image size follows the number of classes.
    /// </summary>
    /// <param name="path">Destination .png file; missing folders are created.</param>
    /// <param name="matrix">Square count matrix, <c>[true, predicted]</c>.</param>
    /// <param name="classes">Class names, one per row/column.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="normalize">
    /// When <see langword="true"/>, colours show each cell's share of its row (per-class recall on the diagonal);
    /// otherwise they show the count relative to the largest cell.
    /// </param>
    /// <exception cref="ArgumentException">The matrix is not square, its size differs from the class count, or a count is negative.</exception>
    public static void Save(string path, int[,] matrix, IReadOnlyList<string> classes, string title, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(classes);
        int n = classes.Count;
        if (n == 0 || matrix.GetLength(0) != n || matrix.GetLength(1) != n)
        {
            throw new ArgumentException(
                $"The matrix is {matrix.GetLength(0)}x{matrix.GetLength(1)} but there are {n} classes; it must be square with one row per class.",
                nameof(matrix));
        }

        foreach (int value in matrix)
        {
            if (value < 0)
            {
                throw new ArgumentException("Counts must not be negative.", nameof(matrix));
            }
        }

        float cell = Math.Clamp(MathF.Floor(640f / n), 14, 90);
        float labelSize = Math.Clamp(cell * 0.45f, 9, ChartCore.TickSize);
        float maxLabel = 160;
        string[] names = classes.Select(c => ChartText.Ellipsize(c ?? string.Empty, maxLabel, labelSize)).ToArray();
        float labelWidth = names.Max(s => ChartText.Measure(s, labelSize));
        bool rotate = labelWidth > cell - 6;
        float xLabelsHeight = rotate ? (labelWidth * 0.72f) + 12 : 22;

        float gridSide = cell * n;
        float left = 16 + 24 + labelWidth + 10;
        float top = string.IsNullOrWhiteSpace(title) ? 16 : 48;
        float colorBar = 70;
        int width = (int)Math.Ceiling(Math.Max(left + gridSide + colorBar, ChartText.Measure(title, ChartCore.TitleSize, bold: true) + 40));
        int height = (int)Math.Ceiling(top + gridSide + xLabelsHeight + 40);
        width = Math.Clamp(width, ChartCore.MinWidth, ChartCore.MaxSide);
        height = Math.Clamp(height, ChartCore.MinHeight, ChartCore.MaxSide);

        ChartCore.SavePng(path, width, height, canvas =>
        {
            ChartCore.DrawTitle(canvas, title, width);
            var grid = new SKRect(left, top, left + gridSide, top + gridSide);
            int max = 0;
            foreach (int v in matrix)
            {
                max = Math.Max(max, v);
            }

            bool showPercent = normalize && cell >= 48;
            float countSize = Math.Clamp(cell * 0.3f, 8, 16);
            for (int r = 0; r < n; r++)
            {
                long rowSum = 0;
                for (int c = 0; c < n; c++)
                {
                    rowSum += matrix[r, c];
                }

                for (int c = 0; c < n; c++)
                {
                    int count = matrix[r, c];
                    double share = normalize ? (rowSum == 0 ? 0 : (double)count / rowSum) : (max == 0 ? 0 : (double)count / max);
                    SKColor fill = ColorFor(share);
                    var rect = new SKRect(grid.Left + (c * cell), grid.Top + (r * cell), grid.Left + ((c + 1) * cell), grid.Top + ((r + 1) * cell));
                    using (SKPaint p = ChartCore.Fill(fill, antialias: false))
                    {
                        canvas.DrawRect(rect, p);
                    }

                    if (cell < 16)
                    {
                        continue;
                    }

                    SKColor ink = share > 0.5 ? SKColors.White : ChartCore.TextColor;
                    string text = count.ToString(CultureInfo.InvariantCulture);
                    float size = countSize;
                    while (size > 7 && ChartText.Measure(text, size) > cell - 4)
                    {
                        size -= 1;
                    }

                    if (showPercent)
                    {
                        ChartText.Draw(canvas, text, rect.MidX, rect.MidY - (cell * 0.12f), size, ink, SKTextAlign.Center, bold: r == c);
                        string pct = (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
                        ChartText.Draw(canvas, pct, rect.MidX, rect.MidY + (cell * 0.2f), size * 0.75f, ink, SKTextAlign.Center);
                    }
                    else
                    {
                        ChartText.Draw(canvas, text, rect.MidX, rect.MidY, size, ink, SKTextAlign.Center, bold: r == c);
                    }
                }
            }

            using (SKPaint border = ChartCore.Stroke(ChartCore.AxisColor, 1, antialias: false))
            {
                canvas.DrawRect(grid, border);
            }

            for (int i = 0; i < n; i++)
            {
                float mid = grid.Top + ((i + 0.5f) * cell);
                ChartText.Draw(canvas, names[i], grid.Left - 6, mid, labelSize, ChartCore.TextColor, SKTextAlign.Right);
                float midX = grid.Left + ((i + 0.5f) * cell);
                if (rotate)
                {
                    ChartText.DrawRotated(canvas, names[i], midX, grid.Bottom + 8, -45, labelSize, ChartCore.TextColor, SKTextAlign.Right);
                }
                else
                {
                    ChartText.Draw(canvas, names[i], midX, grid.Bottom + 12, labelSize, ChartCore.TextColor, SKTextAlign.Center);
                }
            }

            ChartText.Draw(canvas, "Predicted", grid.MidX, height - 16, ChartCore.LabelSize, ChartCore.TextColor, SKTextAlign.Center, bold: true);
            ChartText.DrawRotated(canvas, "True", 20, grid.MidY, -90, ChartCore.LabelSize, ChartCore.TextColor, SKTextAlign.Center, bold: true);

            // Colour bar.
            var bar = new SKRect(grid.Right + 16, grid.Top, grid.Right + 30, grid.Bottom);
            for (int y = 0; y < (int)bar.Height; y++)
            {
                using SKPaint p = ChartCore.Fill(ColorFor(1 - (y / Math.Max(1.0, bar.Height - 1))), antialias: false);
                canvas.DrawRect(bar.Left, bar.Top + y, bar.Width, 1, p);
            }

            using (SKPaint border = ChartCore.Stroke(ChartCore.AxisColor, 1, antialias: false))
            {
                canvas.DrawRect(bar, border);
            }

            string topLabel = normalize ? "100%" : max.ToString(CultureInfo.InvariantCulture);
            string bottomLabel = normalize ? "0%" : "0";
            ChartText.Draw(canvas, topLabel, bar.Right + 4, bar.Top + 5, 10, ChartCore.TextColor);
            ChartText.Draw(canvas, bottomLabel, bar.Right + 4, bar.Bottom - 5, 10, ChartCore.TextColor);
        });
    }

    private static SKColor ColorFor(double t) =>
        t < 0.5 ? ChartCore.Lerp(Low, Mid, t * 2) : ChartCore.Lerp(Mid, High, (t - 0.5) * 2);
}
