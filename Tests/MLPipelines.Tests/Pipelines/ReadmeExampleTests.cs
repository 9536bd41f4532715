using Microsoft.ML;
using MLPipelines.Data;
using MLPipelines.Testing;
using MLPipelines.Trainers;

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
}
