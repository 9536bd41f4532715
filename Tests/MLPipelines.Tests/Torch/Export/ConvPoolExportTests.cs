using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Export;

public sealed class ConvPoolExportTests(ITestOutputHelper output)
{
    private void Check(string what, nn.Module<Tensor, Tensor> module, long[] shape, params int[] batches)
    {
        double diff = ExportCheck.AssertMatches(module, shape, batches);
        output.WriteLine($"{what}: max |diff| = {diff:E2}");
    }

    [TorchFact]
    public void Conv2d_Variants()
    {
        random.manual_seed(10);
        Check("conv3x3 pad0", nn.Conv2d(3, 4, 3), [3, 7, 9]);
        Check("conv3x3 pad1", nn.Conv2d(3, 4, 3, padding: 1), [3, 7, 9]);
        Check("conv5x5 pad2", nn.Conv2d(3, 4, 5, padding: 2), [3, 7, 9]);
        Check("conv3x3 stride2 pad1", nn.Conv2d(3, 4, 3, stride: 2, padding: 1), [3, 9, 8]);
        Check("conv3x3 dilation2 pad2", nn.Conv2d(3, 4, 3, padding: 2, dilation: 2), [3, 9, 9]);
        Check("conv3x3 groups2", nn.Conv2d(4, 6, 3, padding: 1, groups: 2), [4, 6, 7]);
        Check("conv3x3 no bias", nn.Conv2d(3, 4, 3, padding: 1, bias: false), [3, 5, 5]);
        Check("conv (3,5) stride (2,1) pad (1,2)", nn.Conv2d(3, 4, (3, 5), stride: (2, 1), padding: (1, 2)), [3, 7, 9]);
        Check("conv 4x4 padding same", nn.Conv2d(2, 3, 4, Padding.Same), [2, 7, 6]);
        Check("conv 3x3 padding valid", nn.Conv2d(2, 3, 3, Padding.Valid), [2, 7, 6]);
        Check("conv1d k3 pad1", nn.Conv1d(3, 5, 3, padding: 1), [3, 11]);
        Check("depthwise conv", nn.Conv2d(4, 4, 3, padding: 1, groups: 4), [4, 6, 6]);
    }

    [TorchFact]
    public void Conv2d_DynamicBatch()
    {
        random.manual_seed(11);
        Check("conv stride2 at batch 1 and 5", nn.Conv2d(2, 3, 3, stride: 2, padding: 1), [2, 8, 8], 1, 5);
    }

    private static void SetRunningStats(nn.Module<Tensor, Tensor> bn, long[] inputWithoutBatch)
    {
        // Non-trivial running statistics from a few train-mode passes over shifted, scaled data, then random affine.
        bn.train();
        using (no_grad())
        {
            for (int i = 0; i < 5; i++)
            {
                using var scope = NewDisposeScope();
                bn.forward(randn([8, .. inputWithoutBatch]) * 3 + 1.5);
            }
            foreach (var (name, p) in bn.named_parameters())
                p.copy_(rand(p.shape) + 0.5);
        }
        bn.eval();
    }

    [TorchFact]
    public void BatchNorm2d_RunningStats()
    {
        random.manual_seed(12);
        var bn = nn.BatchNorm2d(3, eps: 1e-3);
        SetRunningStats(bn, [3, 4, 5]);
        Assert.True(bn.running_var!.mean().item<float>() > 2, "running var moved away from 1");
        Check("BatchNorm2d (trained stats, eps 1e-3)", bn, [3, 4, 5]);
        var noAffine = nn.BatchNorm2d(3, affine: false);
        SetRunningStats(noAffine, [3, 4, 5]);
        Check("BatchNorm2d affine=false", noAffine, [3, 4, 5]);
    }

    [TorchFact]
    public void BatchNorm1d_RunningStats()
    {
        random.manual_seed(13);
        var bn = nn.BatchNorm1d(6);
        SetRunningStats(bn, [6]);
        Check("BatchNorm1d on [N, C]", bn, [6]);
        var bn3 = nn.BatchNorm1d(4);
        SetRunningStats(bn3, [4, 7]);
        Check("BatchNorm1d on [N, C, L]", bn3, [4, 7]);
    }

    [TorchFact]
    public void BatchNorm_WithoutRunningStats_IsRejected()
    {
        var bn = nn.BatchNorm2d(3, track_running_stats: false);
        var e = Assert.Throws<NotSupportedException>(() => MLPipelines.Torch.Export.TorchOnnxExporter.Export(nn.Sequential(("bn", bn)), [3, 4, 4]));
        Assert.Contains("net.bn (BatchNorm2d)", e.Message);
    }

    [TorchFact]
    public void MaxPool2d_Variants()
    {
        Check("maxpool 2", nn.MaxPool2d(2), [2, 7, 9]);
        Check("maxpool 3 stride 2", nn.MaxPool2d(3, stride: 2), [2, 9, 7]);
        Check("maxpool 3 stride 2 pad 1", nn.MaxPool2d(3, stride: 2, padding: 1), [2, 9, 7]);
        Check("maxpool 2 ceil_mode", nn.MaxPool2d(2, ceil_mode: true), [2, 7, 9]);
        Check("maxpool 3 stride 2 pad 1 ceil_mode", nn.MaxPool2d(3, stride: 2, padding: 1, ceil_mode: true), [2, 8, 7]);
        Check("maxpool 2 dilation 2", nn.MaxPool2d(2, stride: 1, dilation: 2), [2, 7, 7]);
    }

    [TorchFact]
    public void AvgPool2d_Variants()
    {
        Check("avgpool 2", nn.AvgPool2d(2), [2, 7, 9]);
        Check("avgpool 3 stride 2 pad 1 (count_include_pad)", nn.AvgPool2d(3, stride: 2, padding: 1), [2, 9, 7]);
        Check("avgpool 3 stride 2 pad 1 exclude pad", nn.AvgPool2d(3, stride: 2, padding: 1, count_include_pad: false), [2, 9, 7]);
        Check("avgpool 2 ceil_mode", nn.AvgPool2d(2, ceil_mode: true), [2, 7, 9]);
        Check("avgpool 3 s2 p1 ceil_mode include pad", nn.AvgPool2d(3, stride: 2, padding: 1, ceil_mode: true), [2, 8, 6]);
    }

    [TorchFact]
    public void GlobalPoolingAndFlatten()
    {
        Check("AdaptiveAvgPool2d(1)", nn.AdaptiveAvgPool2d(1), [3, 5, 7]);
        Check("AdaptiveAvgPool2d(1) + Flatten", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), [3, 5, 7]);
        Check("Flatten", nn.Flatten(), [3, 4, 5]);
        Check("Flatten(2)", nn.Flatten(2), [3, 4, 5]);
        Check("Flatten(1, 2)", nn.Flatten(1, 2), [3, 4, 5]);
        Check("Flatten(0)", nn.Flatten(0), [3, 4]);
        Check("Unflatten(1, [3, 4, 5])", nn.Unflatten(1, [3, 4, 5]), [60]);
        Check("Unflatten(2, [2, 2])", nn.Unflatten(2, [2, 2]), [3, 4]);
        var e = Assert.Throws<NotSupportedException>(() => MLPipelines.Torch.Export.TorchOnnxExporter.Export(nn.AdaptiveAvgPool2d(2), [3, 4, 4]));
        Assert.Contains("net (AdaptiveAvgPool2d)", e.Message);
    }
}
