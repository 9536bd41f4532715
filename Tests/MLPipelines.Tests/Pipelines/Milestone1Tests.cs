using System.Text.Json;
using MLPipelines.Data;
using MLPipelines.IO;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Models;
using MLPipelines.Testing;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Pipelines;

/// <summary>The Milestone 1 experiment end to end: outputs, metrics, prediction from images and .npy arrays.</summary>
public sealed class Milestone1Tests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlpipelines-m1-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Supersampled_run_predicts_npy_arrays_of_its_final_pixels_like_its_images()
    {
        // The chain shrinks 100 -> 84 px and averages 3x3 blocks (ONNX step): a 28x28 array must enter after that step.
        var data = SyntheticImages.Write(Path.Combine(_root, "data", SignLanguageDigits.FolderName), ["a", "b"], perClass: 20, seed: 5, size: 100, noise: 60);
        var outDir = Path.Combine(_root, "run-supersampled");
        var options = new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), Seed = 2, OutputDirectory = outDir, Supersampling = 3 };
        Milestone1.Run(options, new Milestone1Options { Epochs = 5 });
        var predictor = ImageModelPredictor.Load(Path.Combine(outDir, "model.zip"));
        Assert.True(predictor.Preprocessing.IsMatch, predictor.Preprocessing.Message);
        var images = Directory.GetFiles(Path.Combine(data, "a")).Take(2).ToArray();
        var fromImages = predictor.Predict(images);
        var pixels = ImagePreprocessing.ExtractFeatures(new Microsoft.ML.MLContext(1), images,
            new ImagePreprocessingOptions { ImageSize = 28, Supersampling = 3, Scale = 1f });
        var npy = Path.Combine(_root, "two.npy");
        Npy.Write(npy, NpyArray.FromFloat64(pixels.Select(v => (double)v).ToArray(), 2, 28, 28));
        var fromNpy = predictor.Predict([npy]);
        Assert.Equal(2, fromNpy.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(fromImages[i].Label, fromNpy[i].Label);
            Assert.True(Math.Abs(fromImages[i].Probability - fromNpy[i].Probability) < 1e-4, $"row {i}: image {fromImages[i].Probability} vs npy {fromNpy[i].Probability}");
        }
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")));
        Assert.Equal(3, json.RootElement.GetProperty("supersampling").GetInt32());
    }

    [Fact]
    public void Binary_run_writes_model_metrics_plots_and_predicts_images_and_npy()
    {
        var data = SyntheticImages.Write(Path.Combine(_root, "data", SignLanguageDigits.FolderName), ["a", "b"], perClass: 25, seed: 4, size: 28, noise: 60);
        var outDir = Path.Combine(_root, "run");
        var options = new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), Seed = 2, OutputDirectory = outDir };
        var result = Milestone1.Run(options, new Milestone1Options { Epochs = 20 });

        foreach (var file in new[] { "model.zip", "metrics.json", "loss-curve.png", "accuracy-curve.png", "confusion-matrix.png", "predictions.csv" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), $"{file} missing");
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp", SearchOption.AllDirectories));
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json"))))
        {
            var validation = json.RootElement.GetProperty("validation");
            foreach (var key in new[] { "accuracy", "precision", "recall", "f1", "loss", "confusion", "classes" })
                Assert.True(validation.TryGetProperty(key, out _), $"validation.{key} missing");
            Assert.Equal(result.Validation.Accuracy, validation.GetProperty("accuracy").GetDouble(), 12);
            // samples/s counts the training passes only (a part of train_seconds), over every training row of every epoch.
            double samples = json.RootElement.GetProperty("train_count").GetInt32() * json.RootElement.GetProperty("epochs_run").GetInt32();
            double perSecond = json.RootElement.GetProperty("train_samples_per_second").GetDouble();
            Assert.True(perSecond * json.RootElement.GetProperty("train_seconds").GetDouble() >= samples * (1 - 1e-9), $"{perSecond} samples/s for {samples} samples");
            // Peak resident memory of the process: at least the managed heap in use now, at most a plausible size.
            double peak = json.RootElement.GetProperty("peak_rss_mb").GetDouble();
            Assert.InRange(peak, GC.GetTotalMemory(false) / (1024.0 * 1024.0), 64 * 1024);
            var confusion = validation.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Sum(v => v.GetInt32())).ToArray();
            Assert.Equal([5, 5], confusion);
        }
        Assert.True(result.Validation.Accuracy >= 0.8, $"validation accuracy {result.Validation.Accuracy}");

        // Prediction from image files through the zip's own transforms.
        var predictor = ImageModelPredictor.Load(Path.Combine(outDir, "model.zip"));
        Assert.Equal(["a", "b"], predictor.Card.Classes);
        var images = Directory.GetFiles(Path.Combine(data, "b")).Take(3).ToArray();
        var fromImages = predictor.Predict(images);
        Assert.Equal(3, fromImages.Count);
        Assert.All(fromImages, p => Assert.InRange(p.Probability, 0.5f, 1f));

        // The same pixels as a .npy (28x28 grey levels 0-255, float64) must give the same prediction.
        var npy = Path.Combine(_root, "one.npy");
        var pixels = GreyPixels(images[0], 28);
        Npy.Write(npy, NpyArray.FromFloat64(pixels.Select(v => (double)v).ToArray(), 28, 28));
        var fromNpy = Assert.Single(predictor.Predict([npy]));
        Assert.Equal(fromImages[0].Label, fromNpy.Label);
        Assert.True(Math.Abs(fromImages[0].Probability - fromNpy.Probability) < 1e-4, $"image {fromImages[0].Probability} vs npy {fromNpy.Probability}");

        // A batch (N, 784) in 0-1 gives one prediction per row.
        var batch = Path.Combine(_root, "batch.npy");
        Npy.Write(batch, pixels.Concat(pixels).Select(v => v / 255f).ToArray(), 2, 784);
        var rows = predictor.Predict([batch]);
        Assert.Equal([0, 1], rows.Select(r => r.Row ?? -1));
        Assert.All(rows, r => Assert.Equal(fromNpy.Label, r.Label));

        // Wrong shape and NaN name the file.
        var wrong = Path.Combine(_root, "wrong.npy");
        Npy.Write(wrong, new float[100], 10, 10);
        var shapeError = Assert.Throws<InvalidDataException>(() => predictor.Predict([wrong]));
        Assert.Contains("wrong.npy", shapeError.Message, StringComparison.Ordinal);
        Assert.Contains("784", shapeError.Message, StringComparison.Ordinal);
        var nan = Path.Combine(_root, "nan.npy");
        var nanPixels = pixels.ToArray();
        nanPixels[17] = float.NaN;
        Npy.Write(nan, nanPixels, 784);
        Assert.Contains("nan.npy", Assert.Throws<InvalidDataException>(() => predictor.Predict([nan])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Multiclass_run_predicts_class_names_and_test_data_is_evaluated()
    {
        string[] classes = ["x", "y", "z"];
        var data = SyntheticImages.Write(Path.Combine(_root, "data", SignLanguageDigits.FolderName), classes, perClass: 20, seed: 6, size: 28, noise: 60);
        var test = SyntheticImages.Write(Path.Combine(_root, "test"), classes, perClass: 6, seed: 60, size: 28, noise: 60);
        var outDir = Path.Combine(_root, "run3");
        var mlp = new Milestone1Options { Epochs = 30, EarlyStoppingPatience = 0 };
        var result = Milestone1.Run(new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), OutputDirectory = outDir, TestData = test, Seed = 3 }, mlp);

        Assert.NotNull(result.Test);
        Assert.Equal(18, result.Test!.Count);
        Assert.True(result.Test.Accuracy >= 0.8, $"test accuracy {result.Test.Accuracy}");
        var predictor = ImageModelPredictor.Load(Path.Combine(outDir, "model.zip"));
        var prediction = Assert.Single(predictor.Predict([Directory.GetFiles(Path.Combine(test, "z"))[0]]));
        Assert.Contains(prediction.Label, classes);
    }

    [Fact]
    public void Missing_dataset_and_unknown_class_give_clear_errors()
    {
        var missing = Assert.ThrowsAny<Exception>(() => Milestone1.Run(new ExperimentOptions { DataRoot = Path.Combine(_root, "nowhere"), OutputDirectory = Path.Combine(_root, "o") }));
        Assert.Contains("nowhere", missing.Message, StringComparison.Ordinal);

        var data = SyntheticImages.Write(Path.Combine(_root, "data", SignLanguageDigits.FolderName), ["a", "b"], perClass: 3, seed: 1);
        var unknown = Assert.ThrowsAny<Exception>(() => Milestone1.Run(new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), Classes = ["a", "q"], OutputDirectory = Path.Combine(_root, "o") }));
        Assert.Contains("q", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_image_in_the_dataset_is_named()
    {
        var data = SyntheticImages.Write(Path.Combine(_root, "data", SignLanguageDigits.FolderName), ["a", "b"], perClass: 8, seed: 2);
        var corrupt = Path.Combine(data, "b", "broken.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8]);
        var mlp = new Milestone1Options { Epochs = 1 };
        var error = Assert.Throws<InvalidDataException>(() => Milestone1.Run(new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), OutputDirectory = Path.Combine(_root, "o") }, mlp));
        Assert.Contains("broken.jpg", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_root, "o", "model.zip")), "no model may be written after a failed run");
    }

    /// <summary>Real data: the course's 784-64-1 network on 6 vs 8 must clear an accuracy floor on a held-out 20%.</summary>
    [SkippableFact]
    public void Real_sign_language_digits_6_vs_8_clears_an_accuracy_floor()
    {
        var folder = TestData.RequireDataset(SignLanguageDigits.FolderName);
        var result = Milestone1.Run(new ExperimentOptions { DataRoot = folder, Classes = ["6", "8"], OutputDirectory = Path.Combine(_root, "real"), Seed = 1 });
        output.WriteLine($"6 vs 8 validation accuracy {result.Validation.Accuracy:P2} ({result.Validation.Count} images)");
        Assert.Equal(75, result.Validation.Count);
        Assert.True(result.Validation.Accuracy >= 0.92, $"validation accuracy {result.Validation.Accuracy}");
    }

    private static float[] GreyPixels(string bmp, int size)
    {
        var bytes = File.ReadAllBytes(bmp);
        var stride = (size * 3 + 3) & ~3;
        var pixels = new float[size * size];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
                pixels[y * size + x] = bytes[54 + (size - 1 - y) * stride + 3 * x];
        }
        return pixels;
    }
}
