using System.IO.Compression;
using System.Text.Json.Nodes;
using Microsoft.ML;
using MLPipelines.Data;
using MLPipelines.Pipelines.Models;
using MLPipelines.Cli;
using MLPipelines.Testing;

namespace MLPipelines.Tests.Pipelines;

/// <summary>
/// The preprocessing fingerprint: a model zip records what its image steps made of the built-in probe image, and
/// loading it elsewhere compares. The expected figures are ML.NET 6.0.0 / SkiaSharp 3.119's exact pixels and the
/// measured ML.NET 5.0.1 difference: a release that resizes differently fails here.
/// </summary>
public sealed class PreprocessingFingerprintTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlp-fingerprint-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string SaveImageModel(int size, bool grayscale, string name)
    {
        var ml = new MLContext(seed: 1);
        var folder = SyntheticImages.Write(Path.Combine(_dir, "images-" + name), ["a", "b"], perClass: 2, seed: 1, size: 40);
        var rows = ImageFolderDataset.Load(folder).Items.Select(i => new ImageInput { ImagePath = i.Path, Label = i.Label }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ImagePreprocessing.Create(ml, new ImagePreprocessingOptions { ImageSize = size, Grayscale = grayscale }).Fit(data);
        string path = Path.Combine(_dir, name + ".zip");
        ModelPackage.Save(ml, model, data.Schema, ModelCard.ForImages(["a", "b"], size, grayscale, "test"), path);
        return path;
    }

    [Fact]
    public void A_saved_model_carries_the_fingerprint_and_matches_on_the_same_host()
    {
        string path = SaveImageModel(28, grayscale: true, "grey28");
        var card = ModelPackage.ReadCard(path);
        Assert.NotNull(card.Preprocessing);
        Assert.Equal("mlpipelines-probe-1", card.Preprocessing!.Probe);
        Assert.Equal((28, 28), (card.Preprocessing.Width, card.Preprocessing.Height));
        Assert.Contains("Microsoft.ML 6.0.0", card.Preprocessing.Host, StringComparison.Ordinal);
        // Exact pixels of ML.NET 6.0.0 / SkiaSharp 3.119 for the 28x28 grey probe (pinned on purpose).
        Assert.Equal(124.0332, card.Preprocessing.MeanLevel, 4);

        var check = ModelPackage.VerifyPreprocessing(path);
        Assert.Equal(PreprocessingStatus.Match, check.Status);
        Assert.Equal((0, 0, 784), (check.MaxDifference, check.DifferingValues, check.TotalValues));
        Assert.Equal(0, Program.Main(["verify", "--model", path]));
    }

    [Fact]
    public void A_different_resize_is_reported_with_the_model_name_and_the_size_of_the_difference()
    {
        string path = SaveImageModel(28, grayscale: true, "tampered");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry(ModelPackage.ProbeEntry)!;
            byte[] bytes;
            using (var s = entry.Open())
            using (var m = new MemoryStream())
            {
                s.CopyTo(m);
                bytes = m.ToArray();
            }
            entry.Delete();
            bytes[100] = (byte)(bytes[100] > 128 ? bytes[100] - 7 : bytes[100] + 7); // as if the training host's resize gave 7 levels more or less
            using var w = zip.CreateEntry(ModelPackage.ProbeEntry).Open();
            w.Write(bytes);
        }

        var check = ModelPackage.VerifyPreprocessing(path);
        Assert.Equal(PreprocessingStatus.Mismatch, check.Status);
        Assert.Equal((7, 1, 784), (check.MaxDifference, check.DifferingValues, check.TotalValues));
        Assert.Contains(path, check.Message, StringComparison.Ordinal);
        Assert.Contains("by up to 7 grey levels", check.Message, StringComparison.Ordinal);
        Assert.False(ImageModelPredictor.Load(path).Preprocessing.IsMatch);
        Assert.Equal(3, Program.Main(["verify", "--model", path]));
    }

    [Theory]
    // Measured: ML.NET 5.0.1 (SkiaSharp 2.88) and 6.0.0 (SkiaSharp 3.119) shrink the 53x41 probe differently, and
    // enlarge it identically.
    [InlineData(28, true, 381, 784, 11)]
    [InlineData(32, false, 1190, 3072, 16)]
    [InlineData(64, false, 0, 12288, 0)]
    public void A_zip_saved_before_fingerprints_is_compared_with_the_built_in_ML_NET_5_reference(int size, bool grey, int differing, int total, int max)
    {
        string path = SaveImageModel(size, grey, $"legacy{size}");
        // Make it look like a zip of the old release: no fingerprint in the card, no probe entry.
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            zip.GetEntry(ModelPackage.ProbeEntry)!.Delete();
            var cardEntry = zip.GetEntry(ModelPackage.CardEntry)!;
            JsonObject card;
            using (var s = cardEntry.Open())
                card = JsonNode.Parse(s)!.AsObject();
            card.Remove("preprocessing");
            cardEntry.Delete();
            using var w = new StreamWriter(zip.CreateEntry(ModelPackage.CardEntry).Open());
            w.Write(card.ToJsonString());
        }

        var check = ModelPackage.VerifyPreprocessing(path);
        Assert.Equal(differing == 0 ? PreprocessingStatus.Match : PreprocessingStatus.Mismatch, check.Status);
        Assert.Equal((max, differing, total), (check.MaxDifference, check.DifferingValues, check.TotalValues));
        Assert.Contains("Microsoft.ML 5.0.1", check.Message, StringComparison.Ordinal);
    }
}
