using MLPipelines.IO;
using MLPipelines.Pipelines.Reporting;
using SkiaSharp;

namespace MLPipelines.Tests.Reporting;

// One collection: ChartText.ForceBuiltInFont is process-wide state.
[Collection("Charts")]
public sealed class ChartTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlp-charts-" + Guid.NewGuid().ToString("N"));

    public ChartTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        ChartText.ForceBuiltInFont = false;
        Directory.Delete(_dir, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static SKBitmap Load(string path)
    {
        SKBitmap? bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        return bitmap!;
    }

    private static int DistinctColors(SKBitmap bitmap)
    {
        var colors = new HashSet<uint>();
        for (int y = 0; y < bitmap.Height; y += 2)
        {
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                colors.Add((uint)bitmap.GetPixel(x, y));
            }
        }

        return colors.Count;
    }

    private static List<(int X, int Y)> PixelsOf(SKBitmap bitmap, SKColor color, int tolerance = 6)
    {
        var found = new List<(int, int)>();
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                if (Math.Abs(c.Red - color.Red) <= tolerance && Math.Abs(c.Green - color.Green) <= tolerance && Math.Abs(c.Blue - color.Blue) <= tolerance)
                {
                    found.Add((x, y));
                }
            }
        }

        return found;
    }

    private void AssertOnlyFiles(params string[] names) =>
        Assert.Equal(names.Order(), Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());

    [Fact]
    public void LineChart_HasRequestedSize_AndSeriesColourFollowsTheLine()
    {
        double[] x = Enumerable.Range(0, 11).Select(i => (double)i).ToArray();
        string path = PathOf("line.png");
        LineChart.Save(path, "Rising", "x", "y",
            [new ChartSeries("up", x, x), new ChartSeries("flat", x, x.Select(_ => 2.0).ToArray())],
            width: 640, height: 400, marker: new VerticalMarker(5, "best epoch 5"));

        using SKBitmap bmp = Load(path);
        Assert.Equal(640, bmp.Width);
        Assert.Equal(400, bmp.Height);
        Assert.True(DistinctColors(bmp) >= 8);

        // The "up" line (first palette colour) rises left to right across most of the plot.
        // The legend sits outside the data area, on the right: leave its swatches out.
        var up = PixelsOf(bmp, ChartCore.Palette[0]).Where(p => p.X < bmp.Width - 170).ToList();
        Assert.True(up.Count > 300, $"only {up.Count} series pixels");
        int minX = up.Min(p => p.X), maxX = up.Max(p => p.X);
        Assert.True(maxX - minX > 0.55 * bmp.Width, $"line spans {minX}..{maxX}");
        double MeanY(int cx) => up.Where(p => Math.Abs(p.X - cx) <= 3).Average(p => p.Y);
        double[] ys = Enumerable.Range(0, 5).Select(i => MeanY(minX + 10 + ((maxX - minX - 20) * i / 4))).ToArray();
        for (int i = 1; i < ys.Length; i++)
        {
            Assert.True(ys[i] < ys[i - 1], $"line should rise: {string.Join(", ", ys)}");
        }

        // Straight line y = x: the midpoint lies halfway between the ends.
        Assert.InRange(ys[2], ((ys[0] + ys[4]) / 2) - 4, ((ys[0] + ys[4]) / 2) + 4);

        // The "flat" line is horizontal.
        var flat = PixelsOf(bmp, ChartCore.Palette[1]).Where(p => p.X < bmp.Width - 170).ToList();
        Assert.True(flat.Count > 200);
        Assert.True(flat.Max(p => p.Y) - flat.Min(p => p.Y) <= 8);

        AssertOnlyFiles("line.png");
    }

    [Fact]
    public void LineChart_HandlesNaNGapsSinglePointAndNoSeries()
    {
        LineChart.Save(PathOf("gaps.png"), "Gaps", "epoch", "loss",
            [new ChartSeries("val", [1, 2, 3, 4, 5], [1.0, double.NaN, 0.5, 0.4, double.PositiveInfinity])]);
        LineChart.Save(PathOf("single.png"), "One", "x", "y", [new ChartSeries("one", [3.0], [0.5])]);
        LineChart.Save(PathOf("empty.png"), "Empty", "x", "y", []);

        using SKBitmap single = Load(PathOf("single.png"));
        Assert.Equal(900, single.Width);
        Assert.Equal(560, single.Height);
        Assert.True(PixelsOf(single, ChartCore.Palette[0]).Count(p => p.Y > 60) > 20, "the single point is drawn as a dot");
        using SKBitmap gaps = Load(PathOf("gaps.png"));
        Assert.True(PixelsOf(gaps, ChartCore.Palette[0]).Count > 50);
        using SKBitmap empty = Load(PathOf("empty.png"));
        Assert.True(DistinctColors(empty) >= 3);

        Assert.Throws<ArgumentException>(() => LineChart.Save(PathOf("bad.png"), "t", "x", "y", [new ChartSeries("s", [1, 2], [1])]));
        Assert.Throws<ArgumentOutOfRangeException>(() => LineChart.Save(PathOf("bad.png"), "t", "x", "y", [], width: 10));
        AssertOnlyFiles("gaps.png", "single.png", "empty.png");
    }

    [Fact]
    public void ConfusionMatrixChart_ColoursRowsAndDrawsCounts()
    {
        string path = PathOf("cm.png");
        ConfusionMatrixChart.Save(path, new[,] { { 10, 0, 0 }, { 2, 8, 0 }, { 0, 5, 5 } }, ["cat", "dog", "horse"], "Validation");
        using SKBitmap bmp = Load(path);
        Assert.True(bmp.Width >= 300 && bmp.Height >= 300);
        Assert.True(DistinctColors(bmp) >= 10);

        // Row "cat" is 100% correct: its diagonal cell has the darkest colour of the map; "dog" 80% / 20%.
        var map = ConfusionMatrixChart.Colormap;
        SKColor ColourOf(double share) { ScottPlot.Color c = map.GetColor(share); return new SKColor(c.R, c.G, c.B); }
        Assert.True(ColourOf(1).Red < 0x20 && ColourOf(1).Blue > 0x50, "dark blue for 100%");
        Assert.True(PixelsOf(bmp, ColourOf(1), tolerance: 2).Count > 1000, "the 100% cell");
        Assert.True(PixelsOf(bmp, ColourOf(0.8), tolerance: 2).Count > 1000, "the 80% cell");
        Assert.True(PixelsOf(bmp, ColourOf(0.2), tolerance: 2).Count > 1000, "the 20% cell");

        Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Save(PathOf("bad.png"), new int[2, 3], ["a", "b"], "t"));
        Assert.Throws<ArgumentException>(() => ConfusionMatrixChart.Save(PathOf("bad.png"), new int[2, 2], ["a", "b", "c"], "t"));

        ConfusionMatrixChart.Save(PathOf("cm-many.png"), new int[30, 30], Enumerable.Range(0, 30).Select(i => $"class {i}").ToArray(), "Many", normalize: false);
        using SKBitmap many = Load(PathOf("cm-many.png"));
        Assert.True(many.Width > 400);
        AssertOnlyFiles("cm.png", "cm-many.png");
    }

    [Fact]
    public void BarChart_DrawsOneColouredBarPerValue()
    {
        string path = PathOf("bar.png");
        BarChart.Save(path, "Sweep", ["a", "b", "c", "d"], [0.8, 0.9, -0.2, double.NaN], "Accuracy", width: 500, height: 320);
        using SKBitmap bmp = Load(path);
        Assert.Equal(500, bmp.Width);
        Assert.Equal(320, bmp.Height);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(PixelsOf(bmp, ChartCore.Palette[i], tolerance: 0).Count > 500, $"bar {i}");
        }

        Assert.Empty(PixelsOf(bmp, ChartCore.Palette[3], tolerance: 0)); // NaN: no bar
        Assert.Throws<ArgumentException>(() => BarChart.Save(PathOf("bad.png"), "t", ["a"], [1, 2], "y"));
        AssertOnlyFiles("bar.png");
    }

    [Fact]
    public void ImageGallery_ShowsThumbnailsCaptionsAndHighlight()
    {
        string red = PathOf("red.png");
        string blue = PathOf("blue.jpg");
        WriteSolid(red, new SKColor(220, 20, 20), 64, 32, SKEncodedImageFormat.Png);
        WriteSolid(blue, new SKColor(20, 40, 220), 40, 80, SKEncodedImageFormat.Jpeg);

        string path = PathOf("gallery.png");
        ImageGallery.Save(path,
            [new GalleryTile(red, "query", Highlight: true), new GalleryTile(blue, "#1 d=0.12"), new GalleryTile(PathOf("missing.png"), "#2 missing")],
            columns: 2, tileSize: 100);

        using SKBitmap bmp = Load(path);
        Assert.Equal(12 + (2 * 112), bmp.Width);
        Assert.Equal(12 + (2 * 152), bmp.Height);
        Assert.True(PixelsOf(bmp, new SKColor(220, 20, 20), tolerance: 3).Count > 3000); // 100x50 thumbnail
        Assert.True(PixelsOf(bmp, new SKColor(20, 40, 220), tolerance: 12).Count > 3000); // 50x100 thumbnail (JPEG)
        Assert.True(PixelsOf(bmp, new SKColor(0xE8, 0x71, 0x0A), tolerance: 3).Count > 500); // highlight frame

        Assert.Throws<ArgumentException>(() => ImageGallery.Save(PathOf("bad.png"), [], 3));
        AssertOnlyFiles("red.png", "blue.jpg", "gallery.png");
    }

    [Fact]
    public void TrainingCurves_WritesLossAndAccuracyCharts()
    {
        var history = Enumerable.Range(1, 8)
            .Select(e => new EpochRecord(e, 1.0 / e, 1 - (0.5 / e), e == 3 ? null : 1.2 / e, e == 3 ? null : 0.9 - (0.4 / e), 0.01, 1, 100))
            .ToList();
        TrainingCurves.Save(PathOf("loss.png"), PathOf("acc.png"), history);
        foreach (string name in new[] { "loss.png", "acc.png" })
        {
            using SKBitmap bmp = Load(PathOf(name));
            Assert.Equal(900, bmp.Width);
            Assert.Equal(560, bmp.Height);
            Assert.True(PixelsOf(bmp, ChartCore.Palette[0]).Count > 300);
            Assert.True(PixelsOf(bmp, ChartCore.Palette[1]).Count > 300);
        }

        AssertOnlyFiles("loss.png", "acc.png");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Text_RendersVisibleGlyphs(bool builtIn)
    {
        ChartText.ForceBuiltInFont = builtIn;
        Assert.True(ChartText.Measure("Accuracy 0.95", 14) > 50);
        using var surface = SKSurface.Create(new SKImageInfo(200, 40));
        surface.Canvas.Clear(SKColors.White);
        ChartText.Draw(surface.Canvas, "Accuracy 0.95", 5, 20, 14, SKColors.Black);
        using SKImage image = surface.Snapshot();
        using SKBitmap bmp = SKBitmap.FromImage(image);
        int dark = PixelsOf(bmp, SKColors.Black, tolerance: 100).Count;
        Assert.InRange(dark, 80, 2000);
        if (!builtIn)
        {
            Assert.True(ChartText.HasSystemFont, "this machine has DejaVu fonts (fc-list)");
        }
    }

    [Fact]
    public void AtomicWrite_FailureLeavesNoTempFileAndKeepsOldContent()
    {
        string path = PathOf("file.txt");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.WriteByte(1);
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        AssertOnlyFiles("file.txt");
    }

    private static void WriteSolid(string path, SKColor color, int width, int height, SKEncodedImageFormat format)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        surface.Canvas.Clear(color);
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
    }
}
