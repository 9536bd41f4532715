using Microsoft.ML;
using MLPipelines.Data;
using MLPipelines.Testing;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Data;

/// <summary>Tests on the real shared data; they are reported as skipped (with the reason) when MLPIPELINES_DATA does not hold it.</summary>
public sealed class RealDatasetTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void SignLanguageDigits_RealFolder_LoadsTenClasses()
    {
        string folder = TestData.RequireDataset(SignLanguageDigits.FolderName);

        var ds = SignLanguageDigits.Load(folder);
        Assert.Equal(SignLanguageDigits.Digits, ds.Classes);
        foreach (var (c, n) in ds.CountsByClass)
        {
            output.WriteLine($"{c}: {n}");
            Assert.InRange(n, 150, 220); // about 186 each
        }
        Assert.InRange(ds.Items.Count, 1700, 2062);
        Assert.All(ds.Items, i => Assert.Equal(".JPG", Path.GetExtension(i.Path), StringComparer.OrdinalIgnoreCase));

        // the data root works as well as the folder itself
        Assert.Equal(ds.Items.Count, SignLanguageDigits.Load(Path.GetDirectoryName(folder)!).Items.Count);

        var sixEight = SignLanguageDigits.Load(folder, ["6", "8"]);
        Assert.Equal(["6", "8"], sixEight.Classes);
        Assert.Equal(ds.CountsByClass["6"] + ds.CountsByClass["8"], sixEight.Items.Count);

        var split = DataSplit.Stratified(sixEight.Items, i => i.Label, 0.0, 0.2, seed: 42);
        Assert.Equal(2, split.Test.Select(i => i.Label).Distinct().Count());
        Assert.InRange(split.Test.Count, 70, 80);
    }

    [SkippableFact]
    public void SignLanguageDigits_RealJpegs_Preprocess()
    {
        string folder = TestData.RequireDataset(SignLanguageDigits.FolderName);

        var items = SignLanguageDigits.Load(folder, ["6", "8"]).Items.Take(8).Select(i => i.Path).ToArray();
        var ml = new MLContext(seed: 1);
        var gray = ImagePreprocessing.ExtractFeatures(ml, items);
        Assert.Equal(8 * 28 * 28, gray.Length);
        Assert.All(gray, v => Assert.InRange(v, 0f, 1f));
        Assert.True(gray.Max() - gray.Min() > 0.3f, "real photos should have contrast");
        var rgb = ImagePreprocessing.ExtractFeatures(ml, items[..2], new ImagePreprocessingOptions { ImageSize = 64, Grayscale = false });
        Assert.Equal(2 * 3 * 64 * 64, rgb.Length);
    }
}
