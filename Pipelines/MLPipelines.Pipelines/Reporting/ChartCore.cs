using MLPipelines.IO;
using System.Globalization;
using SkiaSharp;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>Shared chart plumbing: ScottPlot set-up, surfaces, PNG encoding, colours and number formatting.</summary>
internal static class ChartCore
{
    /// <summary>Series colours (Tableau 10): distinct and colour-blind tolerant.</summary>
    public static readonly SKColor[] Palette =
    [
        new(0x1F, 0x77, 0xB4), new(0xFF, 0x7F, 0x0E), new(0x2C, 0xA0, 0x2C), new(0xD6, 0x27, 0x28), new(0x94, 0x67, 0xBD),
        new(0x8C, 0x56, 0x4B), new(0xE3, 0x77, 0xC2), new(0x7F, 0x7F, 0x7F), new(0xBC, 0xBD, 0x22), new(0x17, 0xBE, 0xCF),
    ];

    public static readonly SKColor Background = SKColors.White;
    public static readonly SKColor TextColor = new(0x22, 0x22, 0x22);
    public static readonly SKColor AxisColor = new(0x44, 0x44, 0x44);
    public static readonly SKColor GridColor = new(0xE3, 0xE3, 0xE3);
    public static readonly SKColor MarkerColor = new(0x55, 0x55, 0x55);

    public const float TitleSize = 18;
    public const float LabelSize = 14;
    public const float TickSize = 12;
    public const int MinWidth = 200;
    public const int MinHeight = 150;
    public const int MaxSide = 16384;

    /// <summary>Renders onto a white canvas of the given size and writes the PNG atomically.</summary>
    public static void SavePng(string path, int width, int height, Action<SKCanvas> draw)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info)
            ?? throw new InvalidOperationException($"Could not create a {width}x{height} drawing surface.");
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(Background);
        draw(canvas);
        canvas.Flush();
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("PNG encoding failed.");
        AtomicFile.WriteAllBytes(path, data.AsSpan());
    }

    /// <summary>A ScottPlot plot with this project's title, axis labels and font sizes.</summary>
    public static ScottPlot.Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new ScottPlot.Plot();
        if (ChartText.FontFamily is string family)
        {
            plot.Font.Set(family); // the sans-serif system font the galleries use (ScottPlot alone may pick a serif one)
        }

        if (!string.IsNullOrWhiteSpace(title))
        {
            plot.Title(title, TitleSize);
        }

        if (!string.IsNullOrWhiteSpace(xLabel))
        {
            plot.XLabel(xLabel, LabelSize);
        }

        if (!string.IsNullOrWhiteSpace(yLabel))
        {
            plot.YLabel(yLabel, LabelSize);
        }

        plot.Axes.Bottom.TickLabelStyle.FontSize = TickSize;
        plot.Axes.Left.TickLabelStyle.FontSize = TickSize;
        return plot;
    }

    /// <summary>Renders a ScottPlot plot at the given size and writes the PNG atomically.</summary>
    public static void SavePng(string path, ScottPlot.Plot plot, int width, int height)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }

    /// <summary>The ScottPlot colour of a SkiaSharp colour.</summary>
    public static ScottPlot.Color ToColor(SKColor color) => new(color.Red, color.Green, color.Blue, color.Alpha);

    public static void CheckSize(int width, int height)
    {
        if (width is < MinWidth or > MaxSide)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, $"Width must be in [{MinWidth}, {MaxSide}].");
        }

        if (height is < MinHeight or > MaxSide)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, $"Height must be in [{MinHeight}, {MaxSide}].");
        }
    }

    public static SKPaint Stroke(SKColor color, float width, bool antialias = true) =>
        new() { Color = color, StrokeWidth = width, Style = SKPaintStyle.Stroke, IsAntialias = antialias };

    public static SKPaint Fill(SKColor color, bool antialias = true) =>
        new() { Color = color, Style = SKPaintStyle.Fill, IsAntialias = antialias };

    /// <summary>Draws the chart title centred near the top.</summary>
    public static void DrawTitle(SKCanvas canvas, string title, float width)
    {
        if (!string.IsNullOrWhiteSpace(title))
        {
            string text = ChartText.Ellipsize(title, width - 20, TitleSize, bold: true);
            ChartText.Draw(canvas, text, width / 2, 22, TitleSize, TextColor, SKTextAlign.Center, bold: true);
        }
    }

    /// <summary>Formats a number compactly for value labels (up to 4 significant digits).</summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value))
        {
            return "n/a";
        }

        double abs = Math.Abs(value);
        return abs != 0 && (abs >= 1e6 || abs < 1e-3)
            ? value.ToString("0.##E+0", CultureInfo.InvariantCulture)
            : value.ToString(abs >= 100 ? "0.#" : "0.####", CultureInfo.InvariantCulture);
    }

    /// <summary>Linear interpolation between two colours, <paramref name="t"/> in [0, 1].</summary>
    public static SKColor Lerp(SKColor a, SKColor b, double t)
    {
        t = Math.Clamp(t, 0, 1);
        return new SKColor(
            (byte)Math.Round(a.Red + ((b.Red - a.Red) * t)),
            (byte)Math.Round(a.Green + ((b.Green - a.Green) * t)),
            (byte)Math.Round(a.Blue + ((b.Blue - a.Blue) * t)));
    }
}

