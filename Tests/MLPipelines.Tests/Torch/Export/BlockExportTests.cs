using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using MLPipelines.Torch.Nets;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Export;

// MLPipelines.Mlp is a namespace of this solution: inside namespace MLPipelines.* the bare name Mlp resolves to it
// unless an alias is declared inside the namespace.
using MLPipelines.Torch.Nets;

[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)] // libtorch's global seed and thread count
public sealed class BlockExportTests(ITestOutputHelper output)
{
    private void Check(string what, nn.Module<Tensor, Tensor> module, long[] shape, params int[] batches)
    {
        double diff = ExportCheck.AssertMatches(module, shape, batches);
        output.WriteLine($"{what}: max |diff| = {diff:E2}");
    }

    /// <summary>Gives every BatchNorm non-trivial running statistics and affine parameters.</summary>
    internal static void Randomize(nn.Module<Tensor, Tensor> net, long[] inputWithoutBatch)
    {
        net.train();
        using (no_grad())
        {
            for (int i = 0; i < 3; i++)
            {
                using var scope = NewDisposeScope();
                net.forward(randn([6, .. inputWithoutBatch]) * 2 + 0.5);
            }
            foreach (var (name, p) in net.named_parameters())
                if (name.Contains("bn", StringComparison.Ordinal)) p.copy_(rand(p.shape) + 0.5);
        }
        net.eval();
    }

    [TorchFact]
    public void Residual_IdentityShortcut_WithAndWithoutActivation()
    {
        random.manual_seed(20);
        Check("Residual(conv-relu-conv) identity shortcut",
            Residual.Of(nn.Sequential(nn.Conv2d(3, 3, 3, padding: 1), nn.ReLU(), nn.Conv2d(3, 3, 3, padding: 1))), [3, 5, 6]);
        Check("Residual(linear) + ReLU", Residual.Of(nn.Linear(5, 5), activation: nn.ReLU()), [5]);
    }

    [TorchFact]
    public void Residual_ProjectionShortcut_BasicBlock()
    {
        random.manual_seed(21);
        var block = Residual.BasicBlock(3, 6, stride: 2);
        Assert.False(block.HasIdentityShortcut);
        Randomize(block, [3, 7, 8]);
        Check("BasicBlock 3->6 stride 2 (projection)", block, [3, 7, 8], 1, 3);
        var same = Residual.BasicBlock(4, 4);
        Assert.True(same.HasIdentityShortcut);
        Randomize(same, [4, 5, 5]);
        Check("BasicBlock 4->4 (identity)", same, [4, 5, 5]);
        var names = block.named_parameters().Select(p => p.name).ToArray();
        Assert.Contains("body.conv1.weight", names);
        Assert.Contains("shortcut.conv.weight", names);
    }

    [TorchFact]
    public void ConcatBranches_BranchesAndDenseLayer()
    {
        random.manual_seed(22);
        Check("ConcatBranches(conv1x1, conv3x3, maxpool)",
            ConcatBranches.Of(nn.Conv2d(3, 2, 1), nn.Conv2d(3, 4, 3, padding: 1), nn.MaxPool2d(3, stride: 1, padding: 1)), [3, 5, 5]);
        var dense = ConcatBranches.DenseLayer(3, 4);
        Randomize(dense, [3, 6, 6]);
        Check("DenseLayer 3 + 4", dense, [3, 6, 6]);
        Check("WithInput(linear) on vectors", ConcatBranches.WithInput(nn.Linear(4, 3)), [4]);
        Check("two dense layers", nn.Sequential(ConcatBranches.DenseLayer(2, 3), ConcatBranches.DenseLayer(5, 3)), [2, 4, 4]);
        var names = dense.named_parameters().Select(p => p.name).ToArray();
        Assert.Contains("branches.0.conv.weight", names);
    }

    [TorchFact]
    public void Reshape_FlatToImage()
    {
        random.manual_seed(23);
        Check("Reshape.ToImage(2, 3, 4)", Reshape.ToImage(2, 3, 4), [24]);
        Check("Reshape + conv", nn.Sequential(Reshape.ToImage(1, 5, 5), nn.Conv2d(1, 2, 3)), [25], 1, 5);
        Check("Reshape.To(-1, 2)", Reshape.To(-1, 2), [6]);
        Assert.Throws<ArgumentException>(() => Reshape.To(0, 3));
    }

    [TorchFact]
    public void ConvNet_Presets_Batch3()
    {
        foreach (var name in ConvNetOptions.PresetNames)
        {
            TorchSeed.Set(30);
            var options = ConvNetOptions.FromPreset(name, numClasses: 5, inputChannels: 1, imageSize: 16);
            var net = ConvNet.Create(options);
            Randomize(net, [net.FlatInputSize]);
            Check($"ConvNet {name} (flat 1x16x16 input)", net, [net.FlatInputSize], 3);
        }
        Assert.True(ConvNetOptions.Bn4DropoutAugmented(3).Augment);
        Assert.Equal(3, ConvNetOptions.Plain3(2).Blocks);
        Assert.Equal(0.3, ConvNetOptions.Bn4Dropout(2, dropout: 0.3).Dropout);
    }

    [TorchFact]
    public void ConvNet_CourseSize_64x64Grayscale_Batch3()
    {
        TorchSeed.Set(35);
        var net = ConvNet.Create(ConvNetOptions.Bn4Dropout(numClasses: 6, dropout: 0.3));
        Assert.Equal(64 * 64, net.FlatInputSize);
        Randomize(net, [1, 64, 64]);
        Check("ConvNet Bn4Dropout(0.3) 1x64x64 flat input", net, [64 * 64], 3);
        TorchSeed.Set(36);
        var plain = ConvNet.Create(ConvNetOptions.Plain3(numClasses: 6));
        plain.eval();
        Check("ConvNet Plain3 1x64x64 flat input", plain, [64 * 64], 3);
    }

    [TorchFact]
    public void ConvNet_NchwInput_RgbAndDynamicBatch()
    {
        TorchSeed.Set(31);
        var net = ConvNet.Create(new ConvNetOptions { InputChannels = 3, ImageHeight = 8, ImageWidth = 12, Channels = [4, 8], BatchNorm = true, Dropout = 0.3, NumClasses = 4 });
        Randomize(net, [3, 8, 12]);
        Check("ConvNet 2 blocks RGB NCHW input, batch 1 and 5", net, [3, 8, 12], 1, 5);
        Assert.Throws<ArgumentException>(() => ConvNet.Create(ConvNetOptions.Plain3(2, imageSize: 4)));
    }

    [TorchFact]
    public void Mlp_784_128_64_10_And_784_128_2()
    {
        TorchSeed.Set(32);
        Check("Mlp 784-128-64-10 dropout 0.2", MlpNet.Create([784, 128, 64, 10], dropout: 0.2), [784], 3);
        Check("Mlp 784-128-2", MlpNet.Create([784, 128, 2]), [784], 1, 3, 5);
    }

    [TorchFact]
    public void ConvNet_HeInit_FanOut()
    {
        TorchSeed.Set(33);
        var net = ConvNet.Create(new ConvNetOptions { Channels = [64], ImageHeight = 8, ImageWidth = 8, NumClasses = 2 });
        var w = net.named_parameters().Single(p => p.name == "features.block1.conv.weight").parameter;
        double std = w.std().item<float>();
        double expected = Math.Sqrt(2.0 / (64 * 9)); // fan_out = out_channels * 3 * 3
        Assert.InRange(std, expected * 0.85, expected * 1.15);
        Assert.Equal(0f, net.named_parameters().Single(p => p.name == "features.block1.conv.bias").parameter.abs().max().item<float>());
    }

    [TorchFact]
    public void Blocks_TrainMode_BackwardReachesEveryParameter()
    {
        TorchSeed.Set(37);
        var net = nn.Sequential(
            ("image", Reshape.ToImage(2, 8, 8)),
            ("res", Residual.BasicBlock(2, 4, stride: 2)),
            ("dense", ConcatBranches.DenseLayer(4, 3)),
            ("gap", nn.AdaptiveAvgPool2d(1)),
            ("flat", nn.Flatten()),
            ("mlp", MlpNet.Create([7, 5, 3], dropout: 0.1)));
        net.train();
        using var scope = NewDisposeScope();
        var loss = nn.functional.cross_entropy(net.forward(randn(4, 128)), tensor(new long[] { 0, 1, 2, 1 }));
        loss.backward();
        foreach (var (name, p) in net.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name} has no gradient");
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} has a zero gradient");
        }
        var convNet = ConvNet.Create(ConvNetOptions.Bn4Dropout(3, imageSize: 16));
        convNet.train();
        nn.functional.cross_entropy(convNet.forward(randn(2, 256)), tensor(new long[] { 0, 2 })).backward();
        Assert.All(convNet.parameters(), p => Assert.NotNull(p.grad));
    }

    private sealed class MyOddLayer() : nn.Module<Tensor, Tensor>("odd")
    {
        public override Tensor forward(Tensor x) => x * 2;
    }

    [TorchFact]
    public void UnknownModule_ErrorNamesPathAndType()
    {
        var net = nn.Sequential(("features", nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), new MyOddLayer())));
        var e = Assert.Throws<NotSupportedException>(() => TorchOnnxExporter.Export(net, [4]));
        Assert.Contains("net.features.3 (MyOddLayer)", e.Message);
        var g = new OnnxGraphBuilder();
        g.AddInput("x", OnnxElementType.Float, -1, 4);
        e = Assert.Throws<NotSupportedException>(() => TorchOnnxExporter.WriteModule(g, Residual.Of(new MyOddLayer()), "x", "model"));
        Assert.Contains("model.body (MyOddLayer)", e.Message);
    }

    [TorchFact]
    public void WriteModule_ComposesIntoAnExistingGraph()
    {
        TorchSeed.Set(34);
        var net = MlpNet.Create([6, 5, 3]);
        net.eval();
        var g = new OnnxGraphBuilder();
        g.AddInput("features", OnnxElementType.Float, -1, 6);
        string logits = TorchOnnxExporter.WriteModule(g, net, "features");
        g.AddNode("Softmax", [logits], "probs", OnnxAttribute.Int("axis", 1));
        g.AddOutput("probs", OnnxElementType.Float, -1, 3);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = randn(2, 6);
        var expected = nn.functional.softmax(net.forward(x), 1).data<float>().ToArray();
        var got = MLPipelines.Tests.Onnx.OrtRunner.Run(g.ToBytes(), ("features", x.data<float>().ToArray(), new long[] { 2, 6 }))["probs"].Floats!;
        double diff = ExportCheck.MaxAbsDiff(expected, got);
        output.WriteLine($"Mlp + Softmax in a host graph: max |diff| = {diff:E2}");
        Assert.True(diff <= ExportCheck.Tolerance, $"max |diff| = {diff:E2}");
    }
}
