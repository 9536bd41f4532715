using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Torch.Training;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Training;

[Collection(TorchTrainingCollection.Name)]
public sealed class TorchEstimatorTests
{
    private const int Dim = 8;

    private sealed class VectorRow
    {
        [VectorType(Dim)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    private sealed class BinaryRow
    {
        [VectorType(Dim)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class ImageRow
    {
        [VectorType(1, 4, 4)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private static readonly string[] Names = ["cat", "dog", "emu"];

    private static List<VectorRow> MulticlassRows(int count, int seed)
    {
        var blobs = TrainingFixtures.Blobs(count, Dim, 3, seed, noise: 0.4);
        return Enumerable.Range(0, count).Select(i => new VectorRow
        {
            Features = blobs.Features.AsSpan(i * Dim, Dim).ToArray(),
            Label = Names[blobs.Labels[i]],
        }).ToList();
    }

    private static List<BinaryRow> BinaryRows(int count, int seed)
    {
        var blobs = TrainingFixtures.Blobs(count, Dim, 2, seed, noise: 0.6);
        return Enumerable.Range(0, count).Select(i => new BinaryRow
        {
            Features = blobs.Features.AsSpan(i * Dim, Dim).ToArray(),
            Label = blobs.Labels[i] == 1,
        }).ToList();
    }

    /// <summary>1x4x4 images; the true class has a brighter left half (so an image and its mirror image differ).</summary>
    private static List<ImageRow> ImageRows(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            bool label = i % 2 == 0;
            var pixels = new float[16];
            for (int p = 0; p < 16; p++)
                pixels[p] = (float)(random.NextDouble() * 0.5 + (label && p % 4 < 2 ? 0.5 : 0));
            return new ImageRow { Features = pixels, Label = label };
        }).ToList();
    }

    private static TorchTrainerOptions Options() => new()
    {
        Epochs = 8,
        LearningRate = 0.02,
        BatchSize = 16,
        Device = "cpu",
        Threads = 1,
        ValidationFraction = 0.2,
    };

    private static float[] Column(IDataView data, string name)
    {
        var column = data.Schema[name];
        if (column.Type is VectorDataViewType)
            return data.GetColumn<float[]>(column).SelectMany(v => v).ToArray();
        return data.GetColumn<float>(column).ToArray();
    }

    private static float[] Softmax(nn.Module<Tensor, Tensor> module, float[] features, long[] shape)
    {
        using var noGrad = torch.no_grad();
        module.eval();
        using var x = torch.tensor(features, shape);
        using var logits = module.call(x);
        using var p = logits.softmax(1);
        return p.data<float>().ToArray();
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => (double)Math.Abs(x - y)).DefaultIfEmpty(0).Max();
    }

    [TorchFact]
    public void Multiclass_FitsSavesReloadsAndMatchesTorch()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(MulticlassRows(150, 1));
        var test = ml.Data.LoadFromEnumerable(MulticlassRows(60, 2));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.TorchSharp(() => TrainingFixtures.SmallNet(Dim, 16, 3), Options()));
        var model = pipeline.Fit(train);
        var torchModel = model.LastTransformer;
        Assert.Equal(Names, torchModel.Classes);
        Assert.NotEmpty(torchModel.History.Epochs);

        var scored = model.Transform(test);
        var score = scored.Schema["Score"];
        var vector = Assert.IsType<VectorDataViewType>(score.Type);
        Assert.Equal(3, vector.Size);
        Assert.IsType<KeyDataViewType>(scored.Schema["PredictedLabel"].Type);

        // ONNX (through ML.NET) against the TorchSharp forward pass.
        var features = Column(test, "Features");
        var torchProbabilities = Softmax(torchModel.Module, features, [60, Dim]);
        var onnxProbabilities = Column(scored, "Score");
        Assert.True(MaxAbsDiff(torchProbabilities, onnxProbabilities) <= 1e-4);

        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MacroAccuracy > 0.8, $"macro accuracy {metrics.MacroAccuracy}");

        var path = Path.Combine(Path.GetTempPath(), $"torch-multiclass-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var reloaded = new MLContext(2).Model.Load(path, out _);
            var rescored = reloaded.Transform(test);
            Assert.Equal(onnxProbabilities, Column(rescored, "Score"));
            Assert.Equal(scored.GetColumn<uint>("PredictedLabel").ToArray(), rescored.GetColumn<uint>("PredictedLabel").ToArray());
            var reloadedMetrics = ml.MulticlassClassification.Evaluate(rescored);
            Assert.Equal(metrics.MacroAccuracy, reloadedMetrics.MacroAccuracy);
            Assert.Equal(metrics.LogLoss, reloadedMetrics.LogLoss, 1e-9);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TorchFact]
    public void Binary_FitsSavesReloadsAndMatchesTorch()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(BinaryRows(120, 3));
        var test = ml.Data.LoadFromEnumerable(BinaryRows(50, 4));
        var trainer = ml.BinaryClassification.Trainers.TorchSharp(() => TrainingFixtures.SmallNet(Dim, 16, 2), Options());
        // EstimatorChain.Fit checks the trainer's GetOutputSchema first.
        var chain = ml.Transforms.CopyColumns("FeaturesCopy", "Features").Append(trainer).Fit(train);
        var model = chain.LastTransformer;

        var scored = model.Transform(test);
        Assert.Equal(NumberDataViewType.Single, scored.Schema["Score"].Type);
        Assert.Equal(NumberDataViewType.Single, scored.Schema["Probability"].Type);
        Assert.Equal(BooleanDataViewType.Instance, scored.Schema["PredictedLabel"].Type);

        var softmax = Softmax(model.Module, Column(test, "Features"), [50, Dim]);
        var probabilityOfTrue = Enumerable.Range(0, 50).Select(i => softmax[2 * i + 1]).ToArray();
        var probability = Column(scored, "Probability");
        Assert.True(MaxAbsDiff(probabilityOfTrue, probability) <= 1e-4);
        var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        Assert.Equal(probability.Select(p => p > 0.5f), predicted);

        var metrics = ml.BinaryClassification.Evaluate(scored);
        Assert.True(metrics.Accuracy > 0.8, $"accuracy {metrics.Accuracy}");

        using var stream = new MemoryStream();
        ml.Model.Save(model, train.Schema, stream);
        stream.Position = 0;
        var reloaded = new MLContext(2).Model.Load(stream, out _);
        var rescored = reloaded.Transform(test);
        Assert.Equal(probability, Column(rescored, "Probability"));
        Assert.Equal(Column(scored, "Score"), Column(rescored, "Score"));
        Assert.Equal(predicted, rescored.GetColumn<bool>("PredictedLabel").ToArray());
        Assert.Equal(metrics.AreaUnderRocCurve, ml.BinaryClassification.Evaluate(rescored).AreaUnderRocCurve);
    }

    [TorchFact]
    public void ImageFeatures_InferTheShape_AndTheGraphReshapesToNchw()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(ImageRows(80, seed: 5));
        var options = Options();
        options.ValidationFraction = 0;
        options.Augmentation = [new RandomCropWithPadding(1)];
        var model = ml.BinaryClassification.Trainers.TorchSharp(() => torch.nn.Sequential(
            torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 2, 2)), options).Fit(data);
        Assert.Equal(new[] { 1, 4, 4 }, model.ImageShape);
        var scored = model.Transform(data);
        var softmax = Softmax(model.Module, Column(data, "Features"), [80, 1, 4, 4]);
        var probabilityOfTrue = Enumerable.Range(0, 80).Select(i => softmax[2 * i + 1]).ToArray();
        Assert.True(MaxAbsDiff(probabilityOfTrue, Column(scored, "Probability")) <= 1e-4);
    }

    [TorchFact]
    public void TestTimeHorizontalFlip_CompiledGraphAveragesTheMirroredLogits()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(ImageRows(80, seed: 6)); // not mirror-symmetric
        var options = Options();
        options.ValidationFraction = 0;
        options.TestTimeHorizontalFlip = true;
        var model = ml.BinaryClassification.Trainers.TorchSharp(() => torch.nn.Sequential(
            torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 2, 2)), options).Fit(data);

        // Reference: TorchSharp, (net(x) + net(x mirrored)) / 2, softmax, P(true).
        var pixels = Column(data, "Features");
        float[] expected, plain;
        using (torch.no_grad())
        {
            model.Module.eval();
            using var x = torch.tensor(pixels, [80, 1, 4, 4]);
            using var mirrored = x.flip(3);
            using var a = model.Module.call(x);
            using var b = model.Module.call(mirrored);
            using var mean = (a + b) / 2;
            using var p = mean.softmax(1);
            using var q = a.softmax(1);
            expected = Enumerable.Range(0, 80).Select(i => p[i, 1].ToSingle()).ToArray();
            plain = Enumerable.Range(0, 80).Select(i => q[i, 1].ToSingle()).ToArray();
        }
        var scored = Column(model.Transform(data), "Probability");
        Assert.True(MaxAbsDiff(expected, scored) <= 1e-5, $"max diff {MaxAbsDiff(expected, scored)}");
        Assert.True(MaxAbsDiff(plain, scored) > 1e-3, "the mirrored pass made no difference: the flip is not in the graph");

        // And after a save/reload with stock ML.NET.
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var reloaded = new MLContext(2).Model.Load(stream, out _);
        Assert.True(MaxAbsDiff(scored, Column(reloaded.Transform(data), "Probability")) <= 1e-6);

        var vectorOptions = Options();
        vectorOptions.TestTimeHorizontalFlip = true;
        var vectors = ml.Data.LoadFromEnumerable(BinaryRows(40, 3));
        var e = Assert.Throws<ArgumentException>(() =>
            ml.BinaryClassification.Trainers.TorchSharp(() => TrainingFixtures.SmallNet(Dim, 4, 2), vectorOptions).Fit(vectors));
        Assert.Contains("TestTimeHorizontalFlip", e.Message);
    }

    [TorchFact]
    public void WrongLogitCount_IsReportedBeforeTraining()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(BinaryRows(40, 3));
        var trainer = ml.BinaryClassification.Trainers.TorchSharp(() => TrainingFixtures.SmallNet(Dim, 4, 3), "Label", epochs: 1);
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(data));
        Assert.Contains("2 logits", e.Message);
    }

    [Fact]
    public void InvalidOptions_NameTheOption()
    {
        var ml = new MLContext(1);
        static nn.Module<Tensor, Tensor> Net() => null!;
        Assert.Equal("ValidationFraction", Assert.Throws<ArgumentException>(
            () => ml.MulticlassClassification.Trainers.TorchSharp(Net, new TorchTrainerOptions { ValidationFraction = 1 })).ParamName);
        Assert.Equal("ImageShape", Assert.Throws<ArgumentException>(
            () => ml.MulticlassClassification.Trainers.TorchSharp(Net, new TorchTrainerOptions { ImageShape = [1, 2] })).ParamName);
        Assert.Equal("Epochs", Assert.Throws<ArgumentException>(
            () => ml.BinaryClassification.Trainers.TorchSharp(Net, "Label", epochs: 0)).ParamName);
        Assert.Equal("Schedule", Assert.Throws<ArgumentException>(
            () => ml.BinaryClassification.Trainers.TorchSharp(Net, new TorchTrainerOptions { Schedule = TorchLearningRateSchedule.Cosine(-1) })).ParamName);
    }

    private sealed class SmallImageRow
    {
        [VectorType(1, 8, 8)]
        public float[] Features { get; set; } = [];

        public uint Label { get; set; }
    }

    [TorchFact]
    public void ExportBranchNets_ConvNetWithBatchNormAndMlp_TrainAndMatchTorchAfterReload()
    {
        var ml = new MLContext(1);
        var random = new Random(9);
        // Three classes: a bright top half, a bright left half, or neither.
        var rows = Enumerable.Range(0, 96).Select(i =>
        {
            int k = i % 3;
            var pixels = new float[64];
            for (int p = 0; p < 64; p++)
            {
                int y = p / 8, x = p % 8;
                bool bright = (k == 0 && y < 4) || (k == 1 && x < 4);
                pixels[p] = (float)(random.NextDouble() * 0.4 + (bright ? 0.6 : 0));
            }
            return new SmallImageRow { Features = pixels, Label = (uint)k };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = Options();
        options.Epochs = 6;
        options.ValidationFraction = 0.25;
        options.EarlyStoppingPatience = 3;
        options.Augmentation = [new SmallRotation(5)];
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TorchSharp(
            () => global::MLPipelines.Torch.Nets.ConvNet.Create(new global::MLPipelines.Torch.Nets.ConvNetOptions
            {
                InputChannels = 1, ImageHeight = 8, ImageWidth = 8, Channels = [4, 8], BatchNorm = true, Dropout = 0.2, NumClasses = 3,
            }), options));
        var model = pipeline.Fit(data);
        var scored = model.Transform(data);
        var softmax = Softmax(model.LastTransformer.Module, Column(data, "Features"), [96, 1, 8, 8]);
        var onnx = Column(scored, "Score");
        Assert.True(MaxAbsDiff(softmax, onnx) <= 1e-4);
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        Assert.Equal(onnx, Column(new MLContext(3).Model.Load(stream, out _).Transform(data), "Score"));

        var binary = ml.Data.LoadFromEnumerable(BinaryRows(80, 6));
        var mlpModel = ml.BinaryClassification.Trainers.TorchSharp(
            () => global::MLPipelines.Torch.Nets.MlpNet.Create([Dim, 16, 2], dropout: 0.1), Options()).Fit(binary);
        var mlpSoftmax = Softmax(mlpModel.Module, Column(binary, "Features"), [80, Dim]);
        var mlpProbability = Column(mlpModel.Transform(binary), "Probability");
        Assert.True(MaxAbsDiff(Enumerable.Range(0, 80).Select(i => mlpSoftmax[2 * i + 1]).ToArray(), mlpProbability) <= 1e-4);
    }
}
