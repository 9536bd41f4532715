using MLPipelines.Tests.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Export;

/// <summary>Exports a module and compares TorchSharp's eval-mode forward pass with ONNX Runtime on the exported bytes.</summary>
internal static class ExportCheck
{
    public const double Tolerance = 1e-4;

    /// <summary>Max |torch - ORT| over a random batch (uniform in [-scale, scale]); asserts shape equality and the tolerance.</summary>
    public static double AssertMatches(nn.Module<Tensor, Tensor> module, long[] shapeWithoutBatch, params int[] batches)
    {
        if (batches.Length == 0) batches = [3];
        module.eval();
        byte[] onnx = TorchOnnxExporter.Export(module, shapeWithoutBatch);
        double worst = 0;
        foreach (int batch in batches)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            long[] shape = [batch, .. shapeWithoutBatch];
            var x = rand(shape, ScalarType.Float32) * 4 - 2;
            var y = module.forward(x).contiguous();
            float[] input = x.data<float>().ToArray();
            float[] expected = y.data<float>().ToArray();
            var result = OrtRunner.Run(onnx, ("input", input, shape))["output"];
            Assert.Equal(y.shape, result.Shape);
            Assert.Contains(expected, v => v != 0); // a non-trivial comparison
            double diff = MaxAbsDiff(expected, result.Floats!);
            worst = Math.Max(worst, diff);
            Assert.True(diff <= Tolerance, $"{module.GetType().Name} at batch {batch}: max |torch - onnx| = {diff:E2} > {Tolerance:E0}");
        }
        return worst;
    }

    public static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            m = Math.Max(m, d);
        }
        return m;
    }
}
