using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Tests.Torch.Export;
using MLPipelines.Torch.Training;
using MLPipelines.Torch.Transfer;
using MLPipelines.Trainers.OnnxModel;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Training;

/// <summary>
/// The speed and memory paths of <see cref="TorchClassifierTrainer"/>: 8-bit coded rows, bfloat16 mixed precision with
/// float32 master weights, channels-last convolutions.
/// </summary>
[Collection(TorchTrainingCollection.Name)]
public sealed class FastTrainingTests
{
    private static readonly int[] Shape = [3, 16, 16];

    private static nn.Module<Tensor, Tensor> TinyResNet() => ResNet.Create(false, [1, 1, 1, 1], 3);

    private static TorchTrainingSettings Settings(TorchPrecision precision = TorchPrecision.Float32, bool channelsLast = false) => new()
    {
        Optimizer = TorchOptimizerKind.Adam,
        LearningRate = 0.003,
        Epochs = 4,
        BatchSize = 16,
        Seed = 3,
        Device = "cpu",
        Threads = 1,
        Precision = precision,
        ChannelsLast = channelsLast,
    };

    /// <summary>Images k / 255 as codes, and the same images as floats.</summary>
    private static (TorchDataset Codes, TorchDataset Floats) Pixels(int rows, int seed)
    {
        var random = new Random(seed);
        int d = Shape[0] * Shape[1] * Shape[2];
        var codes = new byte[rows * d];
        var labels = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            labels[i] = i % 3;
            for (int j = 0; j < d; j++)
            {
                // class-dependent brightness of one channel plus noise: learnable, never trivial
                int channel = j / (Shape[1] * Shape[2]);
                int mean = channel == labels[i] ? 170 : 85;
                codes[i * d + j] = (byte)Math.Clamp(mean + random.Next(-60, 61), 0, 255);
            }
        }
        var levels = Enumerable.Range(0, 256).Select(k => k * (1f / 255)).ToArray();
        var floats = codes.Select(c => levels[c]).ToArray();
        return (new TorchDataset(codes, levels, labels, d, Shape), new TorchDataset(floats, labels, d, Shape));
    }

    [TorchFact]
    public void CodedRows_TrainExactlyLikeTheSameFloats()
    {
        var (codes, floats) = Pixels(48, 1);
        var (valCodes, valFloats) = Pixels(24, 2);
        var a = new TorchClassifierTrainer(TinyResNet, Settings()).Train(codes, valCodes);
        var b = new TorchClassifierTrainer(TinyResNet, Settings()).Train(floats, valFloats);
        Assert.True(SameState(a.Module, b.Module));
        Assert.Equal(a.History.Epochs.Select(e => (e.TrainLoss, e.ValidationLoss)), b.History.Epochs.Select(e => (e.TrainLoss, e.ValidationLoss)));
        Assert.Throws<InvalidOperationException>(() => codes.Features);
        a.Module.Dispose();
        b.Module.Dispose();
    }

    [TorchFact]
    public void CodedRows_OnTheCpu_AreViewedInPlace_NotCopied()
    {
        var (codes, _) = Pixels(10, 4);
        int d = codes.FeatureCount;
        using var all = DeviceRows.Create(codes, CPU);
        using var tail = DeviceRows.Create(codes, CPU, start: 6, count: 3);
        using (var index = torch.tensor(new long[] { 7, 2 }))
        using (var picked = all.Select(index))
        {
            Assert.Equal(codes.Levels![codes.Codes![7 * d + 5]], picked[0, 5].item<float>());
            Assert.Equal(codes.Levels![codes.Codes![2 * d]], picked[1, 0].item<float>());
        }
        // One byte copy: a change to the managed codes is what both views read next.
        codes.Codes![7 * d + 5] = 255;
        codes.Codes![6 * d] = 0;
        using (var index = torch.tensor(new long[] { 7 }))
        using (var picked = all.Select(index))
            Assert.Equal(codes.Levels![255], picked[0, 5].item<float>());
        using (var first = tail.Narrow(0, 2))
        {
            Assert.Equal(new long[] { 2, d }, first.shape);
            Assert.Equal(codes.Levels![0], first[0, 0].item<float>());
            Assert.Equal(codes.Levels![codes.Codes![7 * d + 1]], first[1, 1].item<float>());
        }
    }

    [TorchFact]
    public void BFloat16Mixed_Trains_KeepsFloat32Masters_AndExportsOnnxMatchingTheirForward()
    {
        var (train, _) = Pixels(96, 3);
        var settings = Settings(TorchPrecision.BFloat16Mixed, channelsLast: true);
        settings.Epochs = 6;
        var result = new TorchClassifierTrainer(TinyResNet, settings).Train(train);
        var epochs = result.History.Epochs;
        Assert.True(epochs[^1].TrainLoss < 0.7 * epochs[0].TrainLoss, $"loss {epochs[0].TrainLoss:F3} -> {epochs[^1].TrainLoss:F3}");
        Assert.True(epochs[^1].TrainAccuracy > 0.8, $"accuracy {epochs[^1].TrainAccuracy:P0}");
        Assert.All(result.Module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(result.Module.named_buffers().Where(b => b.buffer.is_floating_point()), b => Assert.Equal(ScalarType.Float32, b.buffer.dtype));
        ExportCheck.AssertMatches(result.Module, [3, 16, 16], 2, 5);
        result.Module.Dispose();
    }

    [TorchFact]
    public void ChannelsLast_GivesTheContiguousOutputs_AndBFloat16StaysClose()
    {
        using var master = TinyResNet();
        using var x = torch.rand([4, 3, 16, 16]);
        foreach (bool training in new[] { false, true })
        {
            master.train(training);
            using var expected = master.call(x);
            using var shadow = TrainingShadow.Create(master, TinyResNet, CPU, bf16: false, channelsLast: true);
            shadow.Module.train(training);
            var conv = shadow.Module.named_parameters().First(p => p.name == "conv1.weight").parameter;
            Assert.Equal(1, conv.stride(1)); // NHWC strides: channels innermost
            using var input = shadow.Input(x);
            Assert.Equal(1, input.stride(1));
            using var got = shadow.Module.call(input);
            double diff = ExportCheck.MaxAbsDiff(expected.detach().contiguous().data<float>().ToArray(), got.detach().contiguous().data<float>().ToArray());
            Assert.True(diff <= 1e-4, $"training={training}: channels-last differs by {diff:E2}");
            if (training)
                continue; // (batch statistics of 4 rows at 1 x 1 pixels amplify rounding: compare bfloat16 in eval mode)

            using var low = TrainingShadow.Create(master, TinyResNet, CPU, bf16: true, channelsLast: true);
            low.Module.train(training);
            using var lowInput = low.Input(x);
            Assert.Equal(ScalarType.BFloat16, lowInput.dtype);
            using var lowOut = low.Module.call(lowInput).to(ScalarType.Float32);
            double scale = expected.abs().max().item<float>();
            double lowDiff = ExportCheck.MaxAbsDiff(expected.detach().contiguous().data<float>().ToArray(), lowOut.detach().contiguous().data<float>().ToArray());
            Assert.True(lowDiff > 0, "bfloat16 gave bit-identical outputs: the low-precision path did not run");
            Assert.True(lowDiff <= 0.05 * scale, $"training={training}: bfloat16 differs by {lowDiff:E2} (outputs up to {scale:F3})");
        }
    }

    [Fact]
    public void TrainingData_ReadsPixelRowsAsCodes_AndOtherRowsAsFloats()
    {
        var ml = new MLContext(1);
        // ML.NET's ExtractPixels with scale 1/255 gives k * (1/255f), which is not always k / 255f: the levels keep the exact floats.
        float[] pixels = [.. Enumerable.Range(0, 256).Select(k => k * (1f / 255))];
        var coded = Read(ml, [pixels, pixels.Reverse().ToArray()]);
        Assert.NotNull(coded.Codes);
        Assert.Equal(255, coded.Codes![256]);
        Assert.All(Enumerable.Range(0, 512), i => Assert.Equal(i < 256 ? pixels[i] : pixels[511 - i], coded.Levels![coded.Codes[i]]));
        Assert.Contains(Enumerable.Range(0, 256), k => k * (1f / 255) != k / 255f); // the case the levels exist for

        float[] other = [.. pixels];
        other[100] = 0.5f; // off the k/255 grid, in the second row
        var floats = Read(ml, [pixels, other]);
        Assert.Null(floats.Codes);
        Assert.Equal([.. pixels, .. other], floats.Features);
    }

    private static bool SameState(nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        return sa.Count == sb.Count && sa.All(p => sb.TryGetValue(p.Key, out var v) && p.Value.eq(v).all().item<bool>());
    }

    private static TrainingData Read(MLContext ml, float[][] rows)
    {
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 256);
        var view = ml.Data.LoadFromEnumerable(rows.Select((r, i) => new Row { Features = r, Label = i % 2 == 0 ? "a" : "b" }), definition);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
        return TrainingData.ReadMulticlass(keyed, "Features", "Label", 2, codes: true);
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }
}
