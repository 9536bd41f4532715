using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Data;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Data;

public sealed class ImagePreprocessingTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // ML.NET 5.0.1's ConvertToGrayscale, measured here: (200,100,50) -> 125 and (255,0,0) -> 76, which fits
    // 0.3 R + 0.59 G + 0.11 B rounded to a byte (Rec.601's 0.299/0.587/0.114 would give 124).
    private static float Grey(byte r, byte g, byte b) => MathF.Round(0.3f * r + 0.59f * g + 0.11f * b) / 255f;

    /// <summary>4x4 image made of four 2x2 blocks: black, white / grey 128, pure red.</summary>
    private string Pattern()
    {
        return Bmp.Write(_dir.Combine("pattern.bmp"), Bmp.Create(4, 4, (x, y) => (x < 2, y < 2) switch
        {
            (true, true) => ((byte)0, (byte)0, (byte)0),
            (false, true) => ((byte)255, (byte)255, (byte)255),
            (true, false) => ((byte)128, (byte)128, (byte)128),
            _ => ((byte)255, (byte)0, (byte)0),
        }));
    }

    [Fact]
    public void ExtractFeatures_GreyPatternResized_GivesBlockValues()
    {
        var ml = new MLContext(seed: 1);
        var o = new ImagePreprocessingOptions { ImageSize = 2 };
        var f = ImagePreprocessing.ExtractFeatures(ml, [Pattern()], o);
        output.WriteLine(string.Join(", ", f.Select(v => (v * 255).ToString("F2"))));
        Assert.Equal(4, f.Length);
        // Exact pixels of ML.NET 6.0.0 / SkiaSharp 3.119 (pinned on purpose: a release that resizes differently
        // must fail here). The grey 128 block comes out as 134: 6.0.0's 4x4 -> 2x2 resize does not average the
        // block to itself (5.0.1 with SkiaSharp 2.88 gave 128). Saved models notice such a change through their
        // preprocessing fingerprint (ModelPackage.VerifyPreprocessing).
        byte[] expected = [0, 255, 134, 76];
        Assert.Equal(expected, f.Select(v => (byte)MathF.Round(v * 255)).ToArray());
        Assert.All(f, v => Assert.Equal(MathF.Round(v * 255), v * 255, 1e-3f)); // whole grey levels
    }

    [Fact]
    public void ExtractFeatures_RgbChannelsFirstAndInterleaved()
    {
        var ml = new MLContext(seed: 1);
        string p = Bmp.Write(_dir.Combine("solid.bmp"), Bmp.Solid(5, 5, 200, 100, 50));
        var planar = ImagePreprocessing.ExtractFeatures(ml, [p], new ImagePreprocessingOptions { ImageSize = 3, Grayscale = false });
        Assert.Equal(3 * 3 * 3, planar.Length);
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(200f / 255f, planar[i], 1e-3f);
            Assert.Equal(100f / 255f, planar[9 + i], 1e-3f);
            Assert.Equal(50f / 255f, planar[18 + i], 1e-3f);
        }
        var inter = ImagePreprocessing.ExtractFeatures(ml, [p], new ImagePreprocessingOptions { ImageSize = 3, Grayscale = false, Interleave = true, Scale = 1f });
        Assert.Equal([200f, 100f, 50f], inter[..3]);
        Assert.Equal([200f, 100f, 50f], inter[^3..]);

        var grey = ImagePreprocessing.ExtractFeatures(ml, [p, p], new ImagePreprocessingOptions { ImageSize = 6 });
        Assert.Equal(2 * 36, grey.Length);
        output.WriteLine($"grey of (200,100,50): {grey[0] * 255:F2}, weights give {Grey(200, 100, 50) * 255:F2}");
        Assert.All(grey, v => Assert.Equal(Grey(200, 100, 50), v, 1.5f / 255f));
    }

    [Fact]
    public void Create_WorksAsMlNetPipeline_AndDropsImageColumn()
    {
        var ml = new MLContext(seed: 1);
        string p = Pattern();
        var data = ml.Data.LoadFromEnumerable(new[] { new ImageInput { ImagePath = p, Label = "x" } });
        var o = new ImagePreprocessingOptions { ImageSize = 4 };
        var t = ImagePreprocessing.Create(ml, o).Fit(data).Transform(data);
        Assert.Null(t.Schema.GetColumnOrNull(ImagePreprocessing.ImageColumnName(o)));
        var type = Assert.IsType<VectorDataViewType>(t.Schema["Features"].Type);
        Assert.Equal(16, type.Size);
        var rows = ml.Data.CreateEnumerable<FeatureRow>(t, reuseRowObject: false).ToList();
        var f = Assert.Single(rows).Features;
        // no resizing at 4x4: exact block values
        Assert.Equal(0f, f[0]);
        Assert.Equal(1f, f[3]);
        Assert.Equal(128f / 255f, f[8], 1e-6f);
        Assert.Equal(Grey(255, 0, 0), f[15], 1.5f / 255f);
    }

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    [Fact]
    public void ExtractFeatures_CorruptImage_NamesThatFile()
    {
        var ml = new MLContext(seed: 1);
        string good = Bmp.Write(_dir.Combine("good.bmp"), Bmp.Solid(3, 3, 1, 2, 3));
        string bad = _dir.Combine("broken.jpg");
        File.WriteAllBytes(bad, [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
        var paths = new[] { good, good, bad, good };
        var ex = Assert.Throws<InvalidDataException>(() => ImagePreprocessing.ExtractFeatures(ml, paths));
        output.WriteLine(ex.Message);
        Assert.Contains(bad, ex.Message);
        Assert.DoesNotContain(good, ex.Message);

        var truncatedBmp = Bmp.Solid(8, 8, 9, 9, 9)[..40];
        string bad2 = Bmp.Write(_dir.Combine("cut.bmp"), truncatedBmp);
        ex = Assert.Throws<InvalidDataException>(() => ImagePreprocessing.ExtractFeatures(ml, [good, bad2]));
        Assert.Contains(bad2, ex.Message);

        string missing = _dir.Combine("missing.png");
        var nf = Assert.Throws<FileNotFoundException>(() => ImagePreprocessing.ExtractFeatures(ml, [good, missing]));
        Assert.Contains(missing, nf.Message);
    }

    [Fact]
    public void ExtractFeatures_ReportsProgress()
    {
        var ml = new MLContext(seed: 1);
        string p = Bmp.Write(_dir.Combine("p.bmp"), Bmp.Solid(2, 2, 0, 0, 0));
        var seen = new List<int>();
        var progress = new SyncProgress<int>(seen.Add);
        ImagePreprocessing.ExtractFeatures(ml, Enumerable.Repeat(p, 5).ToArray(), new ImagePreprocessingOptions { ImageSize = 2 }, progress);
        Assert.Equal([1, 2, 3, 4, 5], seen);
    }

    [Theory]
    [InlineData(0, "ImageSize")]
    [InlineData(-3, "ImageSize")]
    public void Options_AreValidated(int size, string name)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ImagePreprocessing.Create(new MLContext(1), new ImagePreprocessingOptions { ImageSize = size }));
        Assert.Equal(name, ex.ParamName);
        var ex2 = Assert.Throws<ArgumentException>(() => ImagePreprocessing.Create(new MLContext(1), new ImagePreprocessingOptions { OutputColumnName = "ImagePath" }));
        Assert.Contains("OutputColumnName", ex2.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Supersampling_AveragesBlocksOfTheFinePixels(bool grayscale)
    {
        // A 12x12 image resized to 12x12 is not resampled, so supersampling 3 at ImageSize 4 must give exactly the
        // mean of every 3x3 block of the plain 12x12 extraction, channel by channel.
        var ml = new MLContext(seed: 1);
        var random = new Random(7);
        var colours = Enumerable.Range(0, 144).Select(_ => ((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256))).ToArray();
        string p = Bmp.Write(_dir.Combine("noise.bmp"), Bmp.Create(12, 12, (x, y) => colours[y * 12 + x]));
        var fine = ImagePreprocessing.ExtractFeatures(ml, [p], new ImagePreprocessingOptions { ImageSize = 12, Grayscale = grayscale });
        var o = new ImagePreprocessingOptions { ImageSize = 4, Supersampling = 3, Grayscale = grayscale };
        var coarse = ImagePreprocessing.ExtractFeatures(ml, [p], o);
        int c = o.Channels;
        Assert.Equal(c * 16, coarse.Length);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                {
                    double sum = 0;
                    for (int dy = 0; dy < 3; dy++)
                        for (int dx = 0; dx < 3; dx++)
                            sum += fine[ch * 144 + (3 * y + dy) * 12 + 3 * x + dx];
                    Assert.Equal(sum / 9, coarse[ch * 16 + y * 4 + x], 1e-6);
                }

        // The chain keeps the [C, H, W] shape the trainers read, and drops its intermediate columns.
        var data = ml.Data.LoadFromEnumerable(new[] { new ImageInput { ImagePath = p, Label = "x" } });
        var t = ImagePreprocessing.Create(ml, o).Fit(data).Transform(data);
        var type = Assert.IsType<VectorDataViewType>(t.Schema["Features"].Type);
        output.WriteLine($"dimensions: {string.Join(", ", type.Dimensions)}");
        Assert.Equal(c * 16, type.Size);
        Assert.Equal([c, 4, 4], type.Dimensions.ToArray());
        Assert.Null(t.Schema.GetColumnOrNull("Features" + AreaDownsampling.ColumnSuffix));
        Assert.Null(t.Schema.GetColumnOrNull(ImagePreprocessing.ImageColumnName(o)));
    }

    [Fact]
    public void Supersampling_RemovesTheAliasingOfAStrongShrink()
    {
        // One-pixel black/white stripes shrunk 100 -> 28: an area filter gives grey everywhere (about 0.5); ML.NET 6's
        // resize alone samples the stripes and leaves strong bands. Supersampling 3 (100 -> 84, then 3x3 means) must
        // be far closer to the area filter.
        var ml = new MLContext(seed: 1);
        string p = Bmp.Write(_dir.Combine("stripes.bmp"), Bmp.Create(100, 100, (x, _) => x % 2 == 0 ? ((byte)0, (byte)0, (byte)0) : ((byte)255, (byte)255, (byte)255)));
        double Spread(int k)
        {
            var f = ImagePreprocessing.ExtractFeatures(ml, [p], new ImagePreprocessingOptions { ImageSize = 28, Supersampling = k });
            return f.Select(v => Math.Abs(v - 0.5)).Max();
        }
        double plain = Spread(1), area = Spread(3);
        output.WriteLine($"max |pixel - 0.5|: resize only {plain:F3}, supersampling 3 {area:F3}");
        Assert.True(area < 0.2, $"supersampled spread {area:F3}");
        Assert.True(area < plain / 2, $"supersampled {area:F3} vs plain {plain:F3}");
    }

    [Fact]
    public void Supersampling_IsValidated()
    {
        var ml = new MLContext(1);
        Assert.Equal("Supersampling", Assert.Throws<ArgumentOutOfRangeException>(() => ImagePreprocessing.Create(ml, new ImagePreprocessingOptions { Supersampling = 0 })).ParamName);
        Assert.Equal("Supersampling", Assert.Throws<ArgumentOutOfRangeException>(() => ImagePreprocessing.Create(ml, new ImagePreprocessingOptions { ImageSize = 1000, Supersampling = 5 })).ParamName);
        Assert.Equal("Supersampling", Assert.Throws<ArgumentException>(() => ImagePreprocessing.Create(ml, new ImagePreprocessingOptions { Supersampling = 2, Interleave = true, Grayscale = false })).ParamName);
    }
}

/// <summary>IProgress that calls back synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
