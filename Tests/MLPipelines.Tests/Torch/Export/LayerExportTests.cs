using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Export;

public sealed class LayerExportTests(ITestOutputHelper output)
{
    private double Check(string what, nn.Module<Tensor, Tensor> module, long[] shape, params int[] batches)
    {
        double diff = ExportCheck.AssertMatches(module, shape, batches);
        output.WriteLine($"{what}: max |diff| = {diff:E2}");
        return diff;
    }

    [TorchFact]
    public void Linear_WithAndWithoutBias()
    {
        random.manual_seed(1);
        Check("Linear", nn.Linear(7, 5), [7]);
        Check("Linear no bias", nn.Linear(7, 5, hasBias: false), [7]);
    }

    [TorchFact]
    public void Sequential_LinearReLU_DynamicBatch()
    {
        random.manual_seed(2);
        var net = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 3));
        Check("Sequential MLP", net, [10], 1, 5, 3);
    }

    [TorchFact]
    public void Activations()
    {
        Check("Sigmoid", nn.Sigmoid(), [6]);
        Check("Tanh", nn.Tanh(), [6]);
        Check("LeakyReLU 0.2", nn.LeakyReLU(0.2), [6]);
        Check("ELU", nn.ELU(0.7), [6]);
        Check("SiLU", nn.SiLU(), [6]);
        Check("GELU", nn.GELU(), [6]);
        Check("Softmax", nn.Softmax(1), [6]);
        Check("LogSoftmax", nn.LogSoftmax(-1), [6]);
        Check("Softmax dim 1 on NCHW", nn.Softmax(1), [3, 2, 2]);
        Check("Identity", nn.Identity(), [4]);
    }

    [TorchFact]
    public void Dropout_IsIdentityInExport()
    {
        random.manual_seed(3);
        var net = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.9), nn.Linear(6, 2));
        net.train(); // the export must not depend on the training flag
        byte[] onnx = TorchOnnxExporter.Export(net, [6]);
        Assert.True(net.training, "Export restores the training flag");
        net.eval();
        Check("Dropout(0.9) in Sequential", net, [6]);
        Check("Dropout2d", nn.Dropout2d(0.5), [2, 3, 3]);
        var ops = OnnxModelIO.Parse(onnx).Graph!.Nodes.Select(n => n.OpType).ToArray();
        Assert.Equal(["MatMul", "Add", "MatMul", "Add", "Identity"], ops);
    }
}
