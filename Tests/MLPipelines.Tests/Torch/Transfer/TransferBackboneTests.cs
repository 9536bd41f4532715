using MLPipelines.Tests.Torch.Export;
using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Transfer;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Transfer;

/// <summary>Transfer backbones: torchvision names and sizes, ONNX export against TorchSharp, head replacement.</summary>
[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)] // libtorch's global seed and thread count
public sealed class TransferBackboneTests(ITestOutputHelper output)
{
    /// <summary>Random batch-norm statistics and affine parameters, so that the export of BN is really exercised.</summary>
    internal static void RandomizeBatchNorm(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var (name, t) in module.state_dict())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) t.copy_(randn_like(t) * 0.1);
            else if (name.EndsWith("running_var", StringComparison.Ordinal)) t.copy_(rand_like(t) * 0.5 + 0.75);
            else if (name.EndsWith("bias", StringComparison.Ordinal) && t.dim() == 1) t.copy_(randn_like(t) * 0.1);
        }
    }

    [TorchFact]
    public void ResNet18_HasTorchvisionNamesAndSize()
    {
        TorchSeed.Set(1);
        using var net = ResNet.ResNet18();
        var sd = net.state_dict();
        Assert.Equal(11_689_512, net.parameters().Sum(p => p.numel()));
        Assert.Equal(62, net.parameters().Count());
        Assert.Equal([64L, 3, 7, 7], sd["conv1.weight"].shape);
        Assert.Equal([64L], sd["bn1.running_var"].shape);
        Assert.Equal([64L, 64, 3, 3], sd["layer1.0.conv1.weight"].shape);
        Assert.Equal([128L, 64, 1, 1], sd["layer2.0.downsample.0.weight"].shape);
        Assert.Equal([128L], sd["layer2.0.downsample.1.running_mean"].shape);
        Assert.Equal([512L, 512, 3, 3], sd["layer4.1.conv2.weight"].shape);
        Assert.Equal([1000L, 512], sd["fc.weight"].shape);
        Assert.DoesNotContain(sd.Keys, k => k.StartsWith("layer1.0.downsample", StringComparison.Ordinal));
        Assert.Equal(512, net.FeatureCount);
        output.WriteLine($"state dict entries: {sd.Count}");
    }

    [TorchFact]
    public void ResNet50_HasTorchvisionNamesAndSize()
    {
        TorchSeed.Set(1);
        using var net = ResNet.ResNet50();
        var sd = net.state_dict();
        Assert.Equal(25_557_032, net.parameters().Sum(p => p.numel()));
        Assert.Equal([64L, 64, 1, 1], sd["layer1.0.conv1.weight"].shape);
        Assert.Equal([64L, 64, 3, 3], sd["layer1.0.conv2.weight"].shape);
        Assert.Equal([256L, 64, 1, 1], sd["layer1.0.conv3.weight"].shape);
        Assert.Equal([256L, 64, 1, 1], sd["layer1.0.downsample.0.weight"].shape);
        Assert.Equal([2048L], sd["layer4.2.bn3.weight"].shape);
        Assert.Equal([1000L, 2048], sd["fc.weight"].shape);
        Assert.Equal(2048, net.FeatureCount);
    }

    [TorchFact]
    public void DenseNet121_HasTorchvisionNamesAndSize()
    {
        TorchSeed.Set(1);
        using var net = DenseNet.DenseNet121();
        var sd = net.state_dict();
        Assert.Equal(7_978_856, net.parameters().Sum(p => p.numel()));
        Assert.Equal([64L, 3, 7, 7], sd["features.conv0.weight"].shape);
        Assert.Equal([64L], sd["features.norm0.weight"].shape);
        Assert.Equal([64L], sd["features.denseblock1.denselayer1.norm1.weight"].shape);
        Assert.Equal([128L, 64, 1, 1], sd["features.denseblock1.denselayer1.conv1.weight"].shape);
        Assert.Equal([128L], sd["features.denseblock1.denselayer1.norm2.running_var"].shape);
        Assert.Equal([32L, 128, 3, 3], sd["features.denseblock1.denselayer1.conv2.weight"].shape);
        Assert.Equal([128L, 256, 1, 1], sd["features.transition1.conv.weight"].shape);
        Assert.Equal([256L], sd["features.transition1.norm.weight"].shape);
        Assert.True(sd.ContainsKey("features.denseblock4.denselayer16.conv2.weight"));
        Assert.Equal([1024L], sd["features.norm5.weight"].shape);
        Assert.Equal([1000L, 1024], sd["classifier.weight"].shape);
        Assert.Equal(1024, net.FeatureCount);
    }

    public static TheoryData<string> Backbones => ["resnet18", "resnet50", "densenet121", "mlnet-resnet18"];

    internal static TorchBackbone Create(string name, int classes) => name switch
    {
        "resnet18" => ResNet.ResNet18(classes),
        "resnet50" => ResNet.ResNet50(classes),
        "densenet121" => DenseNet.DenseNet121(classes),
        "mlnet-resnet18" => ResNet.MlNetResNet18(classes),
        _ => throw new ArgumentException(name),
    };

    [TorchFact]
    public void Export_MatchesTorchSharp_AllBackbones()
    {
        foreach (var name in Backbones)
        {
            TorchSeed.Set(7);
            using var net = Create(name, 5);
            RandomizeBatchNorm(net);
            net.ReplaceHead(7, dropout: 0.5);
            net.Normalization = InputNormalization.ImageNet;
            var (abs, scale) = CompareWithOnnx(net, [3, 64, 64], 2);
            output.WriteLine($"{name}: max |torch - onnx| = {abs:E2}, max |logit| = {scale:G4}, relative {abs / scale:E2} (64x64, batch 2, ImageNet normalisation, new 7-class head)");
            Assert.True(abs <= 1e-4, $"{name}: max |torch - onnx| = {abs:E2} > 1e-4 (max |logit| {scale:G4})");
        }
    }

    /// <summary>
    /// Exports the module and runs ONNX Runtime on a random batch (uniform in [0, 1], like pixels / 255); returns the
    /// max absolute difference to TorchSharp's eval-mode output and the max |output| (for the relative figure).
    /// </summary>
    internal static (double Abs, double Scale) CompareWithOnnx(nn.Module<Tensor, Tensor> module, long[] shape, int batch)
    {
        module.eval();
        byte[] onnx = MLPipelines.Torch.Export.TorchOnnxExporter.Export(module, shape);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long[] full = [batch, .. shape];
        var x = rand(full);
        float[] expected = module.forward(x).contiguous().data<float>().ToArray();
        var result = MLPipelines.Tests.Onnx.OrtRunner.Run(onnx, ("input", x.data<float>().ToArray(), full))["output"];
        return (ExportCheck.MaxAbsDiff(expected, result.Floats!), expected.Max(v => Math.Abs((double)v)));
    }

    [TorchFact]
    public void ReplaceHead_ChangesOnlyTheHead_AndKeepsNames()
    {
        TorchSeed.Set(3);
        using var net = ResNet.ResNet18(1000);
        var before = net.state_dict()["layer4.1.conv2.weight"].clone();
        net.ReplaceHead(12, 0.5);
        var sd = net.state_dict();
        Assert.Equal([12L, 512], sd["fc.weight"].shape);
        Assert.Equal(12, net.ClassCount);
        Assert.Equal(0.5, net.HeadDropout);
        Assert.True(before.equal(sd["layer4.1.conv2.weight"]).all().item<bool>());
        Assert.Equal(sd.Count, net.state_dict().Keys.Distinct().Count());
        using var x = rand(2, 3, 64, 64);
        net.eval();
        using var f = net.Features(x);
        using var y = net.forward(x);
        Assert.Equal([2L, 512], f.shape);
        Assert.Equal([2L, 12], y.shape);
    }
}
