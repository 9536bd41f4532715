using MLPipelines.IO;
using System.Globalization;
using SkiaSharp;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>Shared chart plumbing: surfaces, PNG encoding, colours, axis scales and number formatting.</summary>
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

/// <summary>A "nice" axis: bounds and tick step on a 1-2-5 progression.</summary>
internal readonly record struct NiceScale(double Min, double Max, double Step)
{
    /// <summary>The tick values from <see cref="Min"/> to <see cref="Max"/> inclusive.</summary>
    public IReadOnlyList<double> Ticks
    {
        get
        {
            var ticks = new List<double>();
            int count = (int)Math.Round((Max - Min) / Step);
            for (int i = 0; i <= count; i++)
            {
                double tick = Min + (i * Step);
                ticks.Add(Math.Abs(tick) < Step * 1e-9 ? 0 : tick);
            }

            return ticks;
        }
    }

    /// <summary>Computes a scale covering [<paramref name="dataMin"/>, <paramref name="dataMax"/>] with about <paramref name="maxTicks"/> ticks.</summary>
    public static NiceScale Create(double dataMin, double dataMax, int maxTicks = 6)
    {
        if (!double.IsFinite(dataMin) || !double.IsFinite(dataMax))
        {
            return new NiceScale(0, 1, 0.2);
        }

        if (dataMin > dataMax)
        {
            (dataMin, dataMax) = (dataMax, dataMin);
        }

        if (dataMax - dataMin < Math.Max(Math.Abs(dataMax), 1.0) * 1e-12)
        {
            double pad = dataMin == 0 ? 1 : Math.Abs(dataMin) * 0.1;
            dataMin -= pad;
            dataMax += pad;
        }

        maxTicks = Math.Max(2, maxTicks);
        double step = NiceNumber((dataMax - dataMin) / (maxTicks - 1), round: true);
        double min = Math.Floor((dataMin / step) + 1e-9) * step;
        double max = Math.Ceiling((dataMax / step) - 1e-9) * step;
        return new NiceScale(min, max, step);
    }

    /// <summary>Formats a tick label with as many decimals as the step needs.</summary>
    public string Format(double value)
    {
        double magnitude = Math.Max(Math.Abs(Min), Math.Abs(Max));
        if (magnitude >= 1e6 || Step < 1e-4)
        {
            return value.ToString("0.##E+0", CultureInfo.InvariantCulture);
        }

        int decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(Step) + 1e-9));
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>Rounds <paramref name="range"/> to 1, 2, 5 or 10 times a power of ten.</summary>
    public static double NiceNumber(double range, bool round)
    {
        double exponent = Math.Floor(Math.Log10(range));
        double fraction = range / Math.Pow(10, exponent);
        double nice = round
            ? fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
            : fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * Math.Pow(10, exponent);
    }
}
