using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Tests.Torch.Export;
using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Training;
using MLPipelines.Torch.Transfer;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Torch;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Transfer;

/// <summary>The cosine head with an additive margin: logits against a scalar formula, the margin only in the loss, the ONNX export (with and without test-time mirroring) against TorchSharp.</summary>
[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)]
public sealed class CosineHeadTests(ITestOutputHelper output)
{
    private const int Size = 32;

    [TorchFact]
    public void Logits_are_scale_times_cosine_and_the_margin_lowers_only_the_target_logit()
    {
        TorchSeed.Set(3);
        var head = new CosineHead { Scale = 20, Margin = 0.3 };
        const int n = 4, d = 6, k = 5;
        using var scope = NewDisposeScope();
        var features = randn(n, d);
        var weight = randn(k, d);
        var labels = tensor(new long[] { 2, 0, 4, 2 });
        float[] f = features.data<float>().ToArray(), w = weight.data<float>().ToArray();
        float[] logits = head.Logits(features, weight).data<float>().ToArray();
        float[] trained = head.WithMargin(head.Logits(features, weight), labels).data<float>().ToArray();
        long[] y = [2, 0, 4, 2];
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < k; c++)
            {
                double dot = 0, nf = 0, nw = 0;
                for (int j = 0; j < d; j++)
                {
                    dot += f[i * d + j] * w[c * d + j];
                    nf += f[i * d + j] * f[i * d + j];
                    nw += w[c * d + j] * w[c * d + j];
                }
                double cos = dot / Math.Sqrt(nf) / Math.Sqrt(nw);
                Assert.Equal(20 * cos, logits[i * k + c], 1e-4);
                double expected = 20 * (cos - (c == y[i] ? 0.3 : 0));
                Assert.Equal(expected, trained[i * k + c], 1e-4);
            }
        }
    }

    [TorchFact]
    public void The_margin_is_in_the_training_logits_only_and_a_linear_head_has_none()
    {
        TorchSeed.Set(4);
        using var net = ResNet.ResNet18(10);
        net.ReplaceHead(5, 0, new CosineHead { Scale = 16, Margin = 0.25 });
        Assert.Null(net.Head.bias);
        net.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = rand(3, 3, Size, Size);
        var labels = tensor(new long[] { 1, 4, 0 });
        var logits = net.forward(x);
        // Inference: s · cos θ, every logit in [-s, s].
        Assert.True(logits.abs().max().item<float>() <= 16 + 1e-4);
        var embedding = net.Features(x);
        var expected = new CosineHead { Scale = 16, Margin = 0.25 }.Logits(embedding, net.Head.weight!);
        Assert.True(logits.sub(expected).abs().max().item<float>() <= 1e-5);
        var difference = logits.sub(net.TrainingLogits(logits, labels));
        var oneHot = nn.functional.one_hot(labels, 5).to(ScalarType.Float32);
        Assert.True(difference.sub(oneHot.mul(16 * 0.25)).abs().max().item<float>() <= 1e-5);

        net.ReplaceHead(5);
        Assert.Null(net.Cosine);
        Assert.Same(logits, net.TrainingLogits(logits, labels));
    }

    [TorchFact]
    public void Export_with_a_cosine_head_matches_TorchSharp()
    {
        foreach (var name in new[] { "resnet18", "mlnet-resnet18", "densenet121" })
        {
            TorchSeed.Set(7);
            using var net = TransferBackboneTests.Create(name, 5);
            TransferBackboneTests.RandomizeBatchNorm(net);
            net.ReplaceHead(7, dropout: 0.5, new CosineHead { Scale = 24, Margin = 0.3 });
            net.Normalization = InputNormalization.ImageNet;
            var (abs, scale) = TransferBackboneTests.CompareWithOnnx(net, [3, 64, 64], 2);
            output.WriteLine($"{name} cosine head: max |torch - onnx| = {abs:E2}, max |logit| = {scale:G4}");
            Assert.True(abs <= 1e-4, $"{name}: max |torch - onnx| = {abs:E2} > 1e-4");
            Assert.True(scale > 1, "the logits are too small to show a missing scale");
        }
    }

    private sealed class ImageRow
    {
        [VectorType(3, Size, Size)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    [TorchFact]
    public void Trained_cosine_head_with_mirroring_compiles_to_a_graph_that_matches_TorchSharp_and_reloads()
    {
        var random = new Random(5);
        string[] names = ["a", "b", "c"];
        var rows = Enumerable.Range(0, 24).Select(i => new ImageRow
        {
            Features = Enumerable.Range(0, 3 * Size * Size).Select(p => (float)(random.NextDouble() * 0.6 + (p % Size < Size / 2 && i % 3 == 0 ? 0.4 : 0))).ToArray(),
            Label = names[i % 3],
        }).ToList();
        foreach (bool tta in new[] { false, true })
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var options = new TorchTrainerOptions
            {
                Epochs = 1, BatchSize = 8, LearningRate = 1e-3, Device = "cpu", Threads = 2, ValidationFraction = 0,
                TestTimeHorizontalFlip = tta,
                Transfer = new TorchTransferOptions { Strategy = TransferStrategy.FineTune },
            };
            var model = ml.MulticlassClassification.Trainers.TorchSharp(() =>
            {
                var net = ResNet.ResNet18(10);
                net.ReplaceHead(3, 0.5, new CosineHead());
                net.Normalization = InputNormalization.ImageNet;
                return net;
            }, options).Fit(ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data));
            var pixels = data.GetColumn<float[]>("Features").SelectMany(v => v).ToArray();
            float[] expected;
            using (no_grad())
            {
                model.Module.eval();
                using var scope = NewDisposeScope();
                var x = tensor(pixels, [rows.Count, 3, Size, Size]);
                var logits = model.Module.call(x);
                if (tta)
                    logits = (logits + model.Module.call(x.flip(3))) / 2;
                expected = logits.softmax(1).data<float>().ToArray();
            }
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            var scored = model.Transform(keyed).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
            double diff = expected.Zip(scored, (e, s) => (double)Math.Abs(e - s)).Max();
            output.WriteLine($"tta={tta}: max |softmax torch - ML.NET chain| = {diff:E2}");
            Assert.True(diff <= 1e-4, $"tta={tta}: max diff {diff:E2}");

            using var stream = new MemoryStream();
            ml.Model.Save(model, keyed.Schema, stream);
            stream.Position = 0;
            var reloaded = new MLContext(2).Model.Load(stream, out _);
            var rescored = reloaded.Transform(keyed).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
            Assert.True(scored.Zip(rescored, (a, b) => (double)Math.Abs(a - b)).Max() <= 1e-6);
        }
    }
}
