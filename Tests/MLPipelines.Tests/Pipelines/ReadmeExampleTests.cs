using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Data;
using MLPipelines.Testing;
using MLPipelines.Tests.Torch;
using MLPipelines.Torch.Training;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Torch;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Pipelines;

/// <summary>The README's C# example, verbatim apart from paths and epochs, must compile and work.</summary>
public sealed class ReadmeExampleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlpipelines-readme-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Readme_example_trains_evaluates_and_saves()
    {
        var folder = SyntheticImages.Write(Path.Combine(_root, "sign-language-digits"), ["6", "8"], perClass: 30, seed: 3, size: 28, noise: 60);

        var ml = new MLContext(seed: 1);
        var images = ImageFolderDataset.Load(folder, classes: ["6", "8"]);
        var rows = images.Items.Select(i => new { ImagePath = i.Path, Label = i.Label == "8" });
        var data = ml.Data.LoadFromEnumerable(rows.ToList());
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.2, seed: 1);

        var pipeline = ImagePreprocessing.Create(ml, new ImagePreprocessingOptions { ImageSize = 28, Grayscale = true })
            .Append(ml.Transforms.NormalizeMeanVariance("Features", fixZero: false))
            .Append(ml.BinaryClassification.Trainers.Mlp(hiddenLayers: [64], epochs: 20, learningRate: 0.1));

        var model = pipeline.Fit(split.TrainSet);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(split.TestSet));
        ml.Model.Save(model, data.Schema, Path.Combine(_root, "model.zip"));
        model.LastTransformer.SaveOnnx(Path.Combine(_root, "mlp.onnx"));

        Assert.True(metrics.Accuracy >= 0.8, $"accuracy {metrics.Accuracy}");
        Assert.True(new FileInfo(Path.Combine(_root, "mlp.onnx")).Length > 784 * 64 * 4);
        var reloaded = ml.Model.Load(Path.Combine(_root, "model.zip"), out _);
        Assert.Equal(metrics.Accuracy, ml.BinaryClassification.Evaluate(reloaded.Transform(split.TestSet)).Accuracy);
    }

    [TorchFact]
    public void Readme_torchsharp_example_trains_and_saves_a_stock_zip()
    {
        var folder = SyntheticImages.Write(Path.Combine(_root, "three"), ["a", "b", "c"], perClass: 24, seed: 5, size: 32, noise: 40);
        var ml = new MLContext(seed: 1);
        var rows = ImageFolderDataset.Load(folder).Items.Select(i => new { ImagePath = i.Path, Label = i.Label }).ToList();
        var trainData = ml.Data.LoadFromEnumerable(rows);

        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ImagePreprocessing.Create(ml, new ImagePreprocessingOptions { ImageSize = 32, Grayscale = true }))
            .Append(ml.MulticlassClassification.Trainers.TorchSharp(
                () => nn.Sequential(
                    nn.Conv2d(1, 16, 3, padding: 1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(16, 32, 3, padding: 1), nn.BatchNorm2d(32), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(32, 3)),
                new TorchTrainerOptions
                {
                    Epochs = 30, BatchSize = 16, LearningRate = 3e-3, Optimizer = TorchOptimizerKind.AdamW,
                    Schedule = TorchLearningRateSchedule.Cosine(), Augmentation = [new RandomCropWithPadding(2)],
                    ValidationFraction = 0.1, EarlyStoppingPatience = 8, Device = "auto",
                }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(trainData);

        var predicted = model.Transform(trainData).GetColumn<string>("PredictedLabel").ToArray();
        var accuracy = rows.Zip(predicted).Count(p => p.First.Label == p.Second) / (double)rows.Count;
        Assert.True(accuracy >= 0.8, $"training accuracy {accuracy}");
        var path = Path.Combine(_root, "torch.zip");
        ml.Model.Save(model, trainData.Schema, path);
        var reloaded = new MLContext(seed: 2).Model.Load(path, out _);
        Assert.Equal(predicted, reloaded.Transform(trainData).GetColumn<string>("PredictedLabel").ToArray());
    }
}
