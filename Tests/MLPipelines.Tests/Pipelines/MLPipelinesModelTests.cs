using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Cli;
using MLPipelines.Data;
using MLPipelines.Pipelines.Models;
using MLPipelines.Testing;

namespace MLPipelines.Tests.Pipelines;

/// <summary>A saved zip reloaded through <see cref="MLPipelinesModel"/>: classes, history, network, in-memory images.</summary>
public sealed class MLPipelinesModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlp-model-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void A_reloaded_binary_zip_gives_classes_history_network_and_the_same_answers_from_streams_and_MLImages()
    {
        var data = SyntheticImages.Write(Path.Combine(_dir, "data", SignLanguageDigits.FolderName), ["six", "eight"], perClass: 20, seed: 2, noise: 90);
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, Program.Main(["m1", "--data", Path.GetDirectoryName(data)!, "--classes", "six,eight", "--epochs", "5", "--shift", "0", "--out", run]));
        string zip = Path.Combine(run, "model.zip");

        var model = MLPipelinesModel.Load(zip);
        Assert.Equal(["six", "eight"], model.Classes);
        Assert.Equal([1, 2, 3, 4, 5], model.History.Select(e => e.Epoch));
        Assert.All(model.History, e => Assert.True(double.IsFinite(e.TrainLoss)));
        Assert.True(model.Preprocessing.IsMatch);
        string onnx = Path.Combine(_dir, "network.onnx");
        model.SaveOnnx(onnx);
        Assert.Equal(model.NetworkOnnx, File.ReadAllBytes(onnx));
        Assert.True(model.NetworkOnnx!.Length > 784 * 64 * 4, "the 784-64-1 network's weights");

        var files = Directory.GetFiles(data, "*.bmp", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(12).ToList();
        var byPath = ImageModelPredictor.Load(zip).Predict(files);
        for (int i = 0; i < files.Count; i++)
        {
            using var stream = File.OpenRead(files[i]);
            var fromStream = model.Predict(stream);
            using var image = MLImage.CreateFromFile(files[i]);
            var fromImage = model.Predict(image);
            Assert.Equal(byPath[i].Label, fromStream.Label);
            Assert.Equal(byPath[i].Label, fromImage.Label);
            Assert.Equal(byPath[i].Probability, fromStream.Probability, 1e-6f);
            Assert.Equal(byPath[i].Probability, fromImage.Probability, 1e-6f);
        }

        // Stock ML.NET alone reads the class names from the zip's PredictedClass column.
        var ml = new MLContext(seed: 1);
        var stock = ml.Model.Load(zip, out _);
        var scored = stock.Transform(ml.Data.LoadFromEnumerable(files.Select(f => new PathRow { ImagePath = f })));
        Assert.Equal(byPath.Select(p => p.Label), scored.GetColumn<string>(ModelPackage.PredictedClassColumn));
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";

        public bool Label { get; set; }
    }
}
