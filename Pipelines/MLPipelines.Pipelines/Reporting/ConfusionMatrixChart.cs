using System.Globalization;
using ScottPlot;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>Confusion-matrix heatmaps rendered to PNG with ScottPlot 5.</summary>
public static class ConfusionMatrixChart
{
    /// <summary>The colour map: matplotlib's "Blues", light for 0 and dark blue for 1.</summary>
    internal static readonly IColormap Colormap = new ScottPlot.Colormaps.Blues().Reversed();

    /// <summary>
    /// Draws a heatmap of <paramref name="matrix"/> (rows = true class, columns = predicted class; colour map
    /// "Blues") with the count in every cell (and the row percentage when <paramref name="normalize"/> and the cells
    /// are large enough), axis titles "Predicted" and "True", and a colour bar; the image size follows the number of
    /// classes.
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

        int max = 0;
        foreach (int value in matrix)
        {
            if (value < 0)
            {
                throw new ArgumentException("Counts must not be negative.", nameof(matrix));
            }

            max = Math.Max(max, value);
        }

        double[,] shares = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            long rowSum = 0;
            for (int c = 0; c < n; c++)
            {
                rowSum += matrix[r, c];
            }

            for (int c = 0; c < n; c++)
            {
                shares[r, c] = normalize ? (rowSum == 0 ? 0 : (double)matrix[r, c] / rowSum) : (max == 0 ? 0 : (double)matrix[r, c] / max);
            }
        }

        float cell = Math.Clamp(MathF.Floor(640f / n), 14, 90);
        string[] names = classes.Select(c => Shorten(c ?? string.Empty, 24)).ToArray();
        float labelWidth = names.Max(s => s.Length) * 7f;
        bool rotate = labelWidth > cell - 6;
        int width = (int)Math.Ceiling((cell * n) + labelWidth + 200);
        int height = (int)Math.Ceiling((cell * n) + (rotate ? labelWidth * 0.72f : 20) + 140);
        width = Math.Clamp(width, ChartCore.MinWidth, ChartCore.MaxSide);
        height = Math.Clamp(height, ChartCore.MinHeight, ChartCore.MaxSide);

        var plot = ChartCore.NewPlot(title, "Predicted", "True");
        plot.Grid.IsVisible = false;

        // Row 0 of the data is drawn at the top, cell (r, c) centred at (c, n - 1 - r).
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = Colormap;
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        heatmap.Extent = new CoordinateRect(-0.5, n - 0.5, -0.5, n - 0.5);
        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Label = normalize ? "share of the row" : $"share of the largest cell ({max.ToString(CultureInfo.InvariantCulture)})";

        if (cell >= 16)
        {
            bool showPercent = normalize && cell >= 48;
            float size = Math.Clamp(cell * 0.3f, 8, 16);
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < n; c++)
                {
                    string text = matrix[r, c].ToString(CultureInfo.InvariantCulture);
                    if (showPercent)
                    {
                        text += "\n" + (shares[r, c] * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
                    }

                    var label = plot.Add.Text(text, c, n - 1 - r);
                    label.LabelFontSize = size;
                    label.LabelBold = r == c;
                    label.LabelAlignment = Alignment.MiddleCenter;
                    label.LabelFontColor = shares[r, c] > 0.5 ? Colors.White : ChartCore.ToColor(ChartCore.TextColor);
                }
            }
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, n).Select(i => new Tick(i, names[i], isMajor: true)).ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, n).Select(i => new Tick(n - 1 - i, names[i], isMajor: true)).ToArray());
        if (rotate)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        }

        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        ChartCore.SavePng(path, plot, width, height);
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 3)].TrimEnd() + "...";
}
