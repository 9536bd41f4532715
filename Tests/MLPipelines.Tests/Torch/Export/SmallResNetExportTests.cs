using MLPipelines.Torch.Nets;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Export;

using MLPipelines.Torch.Nets;

[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)]
public sealed class SmallResNetExportTests(ITestOutputHelper output)
{
    [TorchFact]
    public void SmallResNet_ExportMatchesTorchSharp_AndStartsAsIdentityBlocks()
    {
        random.manual_seed(31);
        var options = new SmallResNetOptions { NumClasses = 7, InputChannels = 3, ImageHeight = 32, ImageWidth = 32, Widths = [8, 16, 16], Dropout = 0.2 };
        using var net = SmallResNet.Create(options);
        // Every residual branch's last BatchNorm starts at 0 (identity blocks).
        var zeroed = net.named_parameters().Where(p => p.name.EndsWith("body.bn2.weight", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, zeroed.Count);
        Assert.All(zeroed, p => Assert.Equal(0f, p.parameter.abs().max().item<float>()));
        BlockExportTests.Randomize(net, [3, 32, 32]); // non-trivial BatchNorm statistics and weights
        double diff = ExportCheck.AssertMatches(net, [3 * 32 * 32], 1, 4);
        output.WriteLine($"SmallResNet 8-16-16 x2: max |torch - onnx| = {diff:E2}");
        Assert.Throws<ArgumentException>(() => new SmallResNetOptions { ImageHeight = 4, ImageWidth = 4 }.Validate());
        Assert.Equal("BlocksPerStage", Assert.Throws<ArgumentException>(() => new SmallResNetOptions { BlocksPerStage = 0 }.Validate()).ParamName);
    }
}
