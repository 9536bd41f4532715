using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Backbones;
using MLPipelines.Data;
using MLPipelines.Knn;
using MLPipelines.Tests.Backbones;
using MLPipelines.Tests.Torch;
using MLPipelines.Tests.Torch.Training;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Knn;
using MLPipelines.Trainers.Torch;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Conformance;

/// <summary>Small generated data for the conformance checks: Gaussian blobs in 8 dimensions, and a few generated images.</summary>
internal static class ConformanceData
{
    public const int Dim = 8;

    public static readonly string[] Names = ["cat", "dog", "emu"];

    public sealed class BinaryRow
    {
        [VectorType(Dim)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    public sealed class ClassRow
    {
        [VectorType(Dim)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";

        public string Name { get; set; } = "";
    }

    /// <summary>Rows of <paramref name="classes"/> blobs: class c is centred at 2 in dimension c, noise 0.5.</summary>
    private static IEnumerable<(float[] Features, int Class)> Blobs(int count, int classes, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            int c = i % classes;
            var x = new float[Dim];
            for (int j = 0; j < Dim; j++)
                x[j] = (j == c ? 2f : 0f) + (float)(random.NextDouble() - 0.5);
            yield return (x, c);
        }
    }

    public static IDataView Binary(MLContext ml, int count, int seed) =>
        ml.Data.LoadFromEnumerable(Blobs(count, 2, seed).Select(b => new BinaryRow { Features = b.Features, Label = b.Class == 1 }).ToList());

    /// <summary>Three classes, the label already mapped to a key (as the multiclass trainers expect), and a text "Name" per row.</summary>
    public static IDataView Multiclass(MLContext ml, int count, int seed)
    {
        var rows = ml.Data.LoadFromEnumerable(Blobs(count, 3, seed)
            .Select((b, i) => new ClassRow { Features = b.Features, Label = Names[b.Class], Name = $"row{i}" }).ToList());
        return ml.Transforms.Conversion.MapValueToKey("Label").Fit(rows).Transform(rows);
    }

    /// <summary>Rows (ImagePath, Label) over <paramref name="count"/> generated BMP images of varied sizes.</summary>
    public static IDataView Images(MLContext ml, string folder, int count) =>
        ml.Data.LoadFromEnumerable(BackboneCompileTests.WriteImages(folder, count)
            .Select((p, i) => new ImageInput { ImagePath = p, Label = Names[i % Names.Length] }).ToList());
}

/// <summary>
/// <see cref="EstimatorConformance"/> over every estimator the project exposes that trains without TorchSharp: the MLP
/// trainers (binary and multiclass), the KNN trainer, the image preprocessing chain and the pretrained-backbone embedding
/// chain (on a tiny generated ONNX backbone).
/// </summary>
public sealed class EstimatorConformanceTests(ITestOutputHelper output) : IDisposable
{
    private readonly BackboneTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Mlp_binary_trainer_conforms()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.BinaryClassification.Trainers.Mlp(hiddenLayers: [8], epochs: 5);
        EstimatorConformance.Check(ml, trainer, ConformanceData.Binary(ml, 60, seed: 1), new ConformanceOptions
        {
            RequiredColumns = ["Label", "Features"],
            ScoringColumns = ["Features"],
            ScoreData = ConformanceData.Binary(ml, 20, seed: 2),
            Output = output,
        });
    }

    [Fact]
    public void Mlp_multiclass_trainer_conforms()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.MulticlassClassification.Trainers.Mlp(hiddenLayers: [8], epochs: 5);
        EstimatorConformance.Check(ml, trainer, ConformanceData.Multiclass(ml, 60, seed: 1), new ConformanceOptions
        {
            RequiredColumns = ["Label", "Features"],
            ScoringColumns = ["Features"],
            ScoreData = ConformanceData.Multiclass(ml, 21, seed: 2),
            Output = output,
        });
    }

    [Fact]
    public void Knn_trainer_conforms()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.MulticlassClassification.Trainers.Knn(new KnnOptions { K = 3, Metric = KnnMetric.Cosine, SourceColumnName = "Name" });
        EstimatorConformance.Check(ml, trainer, ConformanceData.Multiclass(ml, 30, seed: 1), new ConformanceOptions
        {
            RequiredColumns = ["Label", "Features", "Name"],
            ScoringColumns = ["Features"],
            ScoreData = ConformanceData.Multiclass(ml, 12, seed: 2),
            Output = output,
        });
    }

    [Fact]
    public void Image_preprocessing_conforms()
    {
        var ml = new MLContext(seed: 1);
        var data = ConformanceData.Images(ml, _dir.Path, 4);
        foreach (var options in new[] { new ImagePreprocessingOptions(), new ImagePreprocessingOptions { ImageSize = 16, Grayscale = false, Interleave = true } })
        {
            EstimatorConformance.Check(ml, ImagePreprocessing.Create(ml, options), data, new ConformanceOptions
            {
                RequiredColumns = ["ImagePath"],
                ScoringColumns = ["ImagePath"],
                Output = output,
            });
        }
    }

    [Fact]
    public void Backbone_embeddings_conform()
    {
        var ml = new MLContext(seed: 1);
        var spec = BackboneSpec.ResNet50(BackboneTestSupport.WriteTinyModel(_dir.Path, "tiny.onnx", 24, size: 32)) with { EmbeddingSize = 24, ImageSize = 32 };
        EstimatorConformance.Check(ml, ml.Transforms.ExtractEmbeddings(spec), ConformanceData.Images(ml, _dir.Path, 4), new ConformanceOptions
        {
            RequiredColumns = ["ImagePath"],
            ScoringColumns = ["ImagePath"],
            Output = output,
        });
    }
}

/// <summary><see cref="EstimatorConformance"/> over the TorchSharp trainers (binary and multiclass); serialised with the other torch training tests.</summary>
[Collection(TorchTrainingCollection.Name)]
public sealed class TorchEstimatorConformanceTests(ITestOutputHelper output)
{
    private static TorchTrainerOptions Options() => new() { Epochs = 3, BatchSize = 16, LearningRate = 0.02, Device = "cpu", Threads = 1, Seed = 1 };

    [TorchFact]
    public void Torch_binary_trainer_conforms()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.BinaryClassification.Trainers.TorchSharp(() => TrainingFixtures.SmallNet(ConformanceData.Dim, 8, 2), Options());
        var model = EstimatorConformance.Check(ml, trainer, ConformanceData.Binary(ml, 60, seed: 1), new ConformanceOptions
        {
            RequiredColumns = ["Label", "Features"],
            ScoringColumns = ["Features"],
            ScoreData = ConformanceData.Binary(ml, 20, seed: 2),
            Output = output,
        });
        model.Module.Dispose();
    }

    [TorchFact]
    public void Torch_multiclass_trainer_conforms()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.MulticlassClassification.Trainers.TorchSharp(() => TrainingFixtures.SmallNet(ConformanceData.Dim, 8, 3), Options());
        var model = EstimatorConformance.Check(ml, trainer, ConformanceData.Multiclass(ml, 60, seed: 1), new ConformanceOptions
        {
            RequiredColumns = ["Label", "Features"],
            ScoringColumns = ["Features"],
            ScoreData = ConformanceData.Multiclass(ml, 21, seed: 2),
            Output = output,
        });
        model.Module.Dispose();
    }
}
