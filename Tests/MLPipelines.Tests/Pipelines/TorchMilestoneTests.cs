using System.Text.Json;
using MLPipelines.Cli;
using MLPipelines.Data;
using MLPipelines.IO;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Models;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Testing;
using MLPipelines.Tests.Torch;
using MLPipelines.Torch.Training;

namespace MLPipelines.Tests.Pipelines;

/// <summary>Milestone 2 (TorchSharp MLPs), its sweep and compare, and the Milestone 3 CNN, end to end on tiny synthetic images.</summary>
[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)] // libtorch's global seed and thread count
public sealed class TorchMilestoneTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlpipelines-m2-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private string Data(IReadOnlyList<string> classes, int perClass, int size = 28, string name = "data") =>
        Path.GetDirectoryName(SyntheticImages.Write(Path.Combine(_root, name, SignLanguageDigits.FolderName), classes, perClass, seed: 5, size: size, noise: 50))!;

    [TorchFact]
    public void M2_binary_run_writes_outputs_and_predicts_images_and_npy()
    {
        var dataRoot = Data(["a", "b"], perClass: 20);
        var outDir = Path.Combine(_root, "m2");
        var options = new Milestone2Options { Epochs = 12, EarlyStoppingPatience = 5, Device = "cpu" };
        var result = Milestone2.Run(new ExperimentOptions { DataRoot = dataRoot, OutputDirectory = outDir, Seed = 3 }, options);

        foreach (var file in new[] { "model.zip", "metrics.json", "loss-curve.png", "accuracy-curve.png", "confusion-matrix.png", "predictions.csv" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), $"{file} missing");
        var metrics = MetricsJson.Read(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(result.Validation.Accuracy, metrics.Validation.Accuracy, 12);
        Assert.Equal("m2", metrics.Extra["producer"]!.GetValue<string>());
        Assert.Equal("784-128-2", metrics.Extra["network"]!.GetValue<string>());
        Assert.Equal(0.1, metrics.Extra["early_stopping_holdout"]!.GetValue<double>());
        Assert.Equal(8, metrics.Validation.Count);
        Assert.True(result.Validation.Accuracy >= 0.75, $"validation accuracy {result.Validation.Accuracy}");

        var predictor = ImageModelPredictor.Load(Path.Combine(outDir, "model.zip"));
        Assert.Equal("m2", predictor.Card.Producer);
        var image = Directory.GetFiles(Path.Combine(dataRoot, SignLanguageDigits.FolderName, "b"))[0];
        var fromImage = Assert.Single(predictor.Predict([image]));
        // The course's unseen-example format: 784 float64 grey levels in 0-255.
        var npy = Path.Combine(_root, "one.npy");
        Npy.Write(npy, NpyArray.FromFloat64(GreyPixels(image, 28).Select(v => (double)v).ToArray(), 784));
        var fromNpy = Assert.Single(predictor.Predict([npy]));
        Assert.Equal(fromImage.Label, fromNpy.Label);
        Assert.True(Math.Abs(fromImage.Probability - fromNpy.Probability) < 1e-4, $"image {fromImage.Probability} vs npy {fromNpy.Probability}");
    }

    [TorchFact]
    public void Sweep_writes_one_row_per_combination_marks_the_best_and_compare_reads_runs()
    {
        var dataRoot = Data(["a", "b"], perClass: 10);
        var sweepDir = Path.Combine(_root, "sweep");
        var points = Milestone2Sweep.Grid([TorchOptimizerKind.Adam, TorchOptimizerKind.Sgd], [0.01], [16]);
        var result = Milestone2Sweep.Run(new ExperimentOptions { DataRoot = dataRoot, Seed = 1 },
            new Milestone2Options { Epochs = 3, EarlyStoppingPatience = 0, Device = "cpu" }, points, sweepDir);

        Assert.Equal(2, result.Runs.Count);
        foreach (var name in new[] { "adam-lr0.01-bs16", "sgd-lr0.01-bs16" })
            Assert.True(File.Exists(Path.Combine(sweepDir, name, "metrics.json")), name);
        foreach (var file in new[] { "results.md", "results.csv", "validation-accuracy.png", "best-model.zip" })
            Assert.True(File.Exists(Path.Combine(sweepDir, file)), $"{file} missing");
        var csv = File.ReadAllLines(Path.Combine(sweepDir, "results.csv"));
        Assert.Equal(3, csv.Length);
        Assert.Single(csv.Skip(1), l => l.Split(',')[2] == "true");
        Assert.Contains(csv.Skip(1), l => l.StartsWith(result.Best.Name + ",", StringComparison.Ordinal) && l.Split(',')[2] == "true");
        Assert.Contains("optimizer", csv[0], StringComparison.Ordinal);
        var markdown = File.ReadAllText(Path.Combine(sweepDir, "results.md"));
        Assert.Contains($"**{result.Best.Name} (best)**", markdown, StringComparison.Ordinal);
        Assert.Equal(2, markdown.Split('\n').Count(l => l.StartsWith("| adam", StringComparison.Ordinal) || l.StartsWith("| sgd", StringComparison.Ordinal) || l.StartsWith("| **", StringComparison.Ordinal)));

        var runs = new[] { Path.Combine(sweepDir, "adam-lr0.01-bs16"), Path.Combine(sweepDir, "sgd-lr0.01-bs16") };
        var summaries = runs.Select(r => RunSummary.Read(r)).ToList();
        Assert.Equal("adam-lr0.01-bs16", summaries[0].Name);
        Assert.Contains("| run | accuracy | F1 | precision | recall | loss | train time (s) |", RunComparison.ToMarkdown(summaries), StringComparison.Ordinal);
        Assert.Equal(0, Program.Main(["compare", .. runs, "--markdown"]));
        Assert.Equal(1, Program.Main(["compare", Path.Combine(_root, "no-run")]));
        Assert.Equal(2, Program.Main(["sweep", "m2", "--optimizer", "adam,rmsprop"]));
    }

    [TorchFact]
    public void M3_cnn_tiny_rgb_run_predicts_images_and_rgb_npy()
    {
        var dataRoot = Data(["x", "y", "z"], perClass: 10, size: 16);
        var outDir = Path.Combine(_root, "cnn");
        var experiment = Milestone3Cnn.DefaultExperiment(SignLanguageDigits.FolderName);
        experiment.DataRoot = dataRoot;
        experiment.ImageSize = 16;
        experiment.OutputDirectory = outDir;
        var result = Milestone3Cnn.Run(experiment, new Milestone3CnnOptions { Preset = "bn4-dropout-augmented", Epochs = 2, Device = "cpu" });

        Assert.True(File.Exists(Path.Combine(outDir, "model.zip")));
        var metrics = MetricsJson.Read(Path.Combine(outDir, "metrics.json"));
        Assert.Equal("bn4-dropout-augmented", metrics.Extra["preset"]!.GetValue<string>());
        Assert.False(metrics.Extra["horizontal_flip"]!.GetValue<bool>());
        Assert.Equal(3, metrics.Extra["channels"]!.GetValue<int>());
        // The epochs are timed inside the training loop: their sum is positive and part of train_seconds.
        Assert.InRange(metrics.Extra["seconds_per_epoch"]!.GetValue<double>() * metrics.Extra["epochs_run"]!.GetValue<int>(), 1e-9, metrics.TrainSeconds);
        Assert.Equal(6, result.Validation.Count);

        var predictor = ImageModelPredictor.Load(Path.Combine(outDir, "model.zip"));
        Assert.Equal(3, predictor.Card.Channels);
        var image = Directory.GetFiles(Path.Combine(dataRoot, SignLanguageDigits.FolderName, "y"))[0];
        var fromImage = Assert.Single(predictor.Predict([image]));
        var grey = GreyPixels(image, 16);
        var rgb = grey.Concat(grey).Concat(grey).ToArray(); // channels first: R, G, B planes
        var npy = Path.Combine(_root, "rgb.npy");
        Npy.Write(npy, rgb, 3, 16, 16);
        var fromNpy = Assert.Single(predictor.Predict([npy]));
        Assert.Equal(fromImage.Label, fromNpy.Label);
        Assert.True(Math.Abs(fromImage.Probability - fromNpy.Probability) < 1e-4, $"image {fromImage.Probability} vs npy {fromNpy.Probability}");
        var grey784 = Path.Combine(_root, "grey.npy");
        Npy.Write(grey784, grey, 16, 16);
        Assert.Contains("768", Assert.Throws<InvalidDataException>(() => predictor.Predict([grey784])).Message, StringComparison.Ordinal);
    }

    [TorchFact]
    public void M3_cnn_best_recipe_trains_the_small_resnet_with_mixing_and_the_zip_predicts()
    {
        var dataRoot = Data(["x", "y", "z"], perClass: 10, size: 16);
        var outDir = Path.Combine(_root, "cnn-best");
        var experiment = Milestone3Cnn.DefaultExperiment(SignLanguageDigits.FolderName, MilestoneRecipe.Best);
        Assert.Equal(64, experiment.ImageSize);
        Assert.Equal(Milestone3CnnOptions.BestImageSize, Milestone3Cnn.DefaultExperiment(StanfordCars.FolderName, MilestoneRecipe.Best).ImageSize);
        experiment.DataRoot = dataRoot;
        experiment.ImageSize = 16;
        experiment.OutputDirectory = outDir;
        var options = Milestone3CnnOptions.For(MilestoneRecipe.Best);
        options.Epochs = 2;
        options.BatchSize = 8;
        options.Device = "cpu";
        Milestone3Cnn.Run(experiment, options);

        var metrics = MetricsJson.Read(Path.Combine(outDir, "metrics.json"));
        Assert.Equal("small-resnet", metrics.Extra["preset"]!.GetValue<string>());
        Assert.StartsWith("SmallResNet 32-64-128-256 x2", metrics.Extra["network"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("RandomResizedCrop, TrivialAugment", metrics.Extra["augmentation"]!.GetValue<string>()); // no flips for hand signs
        Assert.StartsWith("mixup 0.2 cutmix 1", metrics.Extra["mixing"]!.GetValue<string>(), StringComparison.Ordinal);
        var predictor = ImageModelPredictor.Load(Path.Combine(outDir, "model.zip"));
        var image = Directory.GetFiles(Path.Combine(dataRoot, SignLanguageDigits.FolderName, "y"))[0];
        var prediction = Assert.Single(predictor.Predict([image]));
        Assert.InRange(prediction.Probability, 0.0, 1.0);
        Assert.Equal(2, Program.Main(["m3-cnn", "--mixup", "-1"]));
        Assert.Equal(2, Program.Main(["m3-cnn", "--augment", "randaugment"]));
    }

    [Fact]
    public void Cli_rejects_bad_m2_and_m3_options_naming_them()
    {
        Assert.Equal(2, Program.Main(["m2", "--optimizer", "rmsprop"]));
        Assert.Equal(2, Program.Main(["m2", "--device", "tpu"]));
        Assert.Equal(2, Program.Main(["m3-cnn", "--preset", "resnet"]));
        Assert.Equal(2, Program.Main(["m3-cnn", "--dataset", "mnist"]));
        Assert.Equal(2, Program.Main(["compare"]));
        Assert.Equal(0, Program.Main(["sweep", "m2", "--help"]));
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
