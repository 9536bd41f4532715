using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Nets;

/// <summary>
/// Reshapes each sample, keeping the batch dimension: <c>x.reshape(N, shape...)</c>. The usual use is turning the flat
/// [N, C*H*W] vectors that ML.NET feeds into [N, C, H, W] images (an already NCHW input passes through unchanged).
/// </summary>
public sealed class Reshape : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly long[] shape;

    /// <summary>Creates the reshape.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="shapeWithoutBatch">Target shape without the batch dimension; positive sizes, at most one -1 (inferred).</param>
    public Reshape(string name, params long[] shapeWithoutBatch) : base(name)
    {
        ArgumentNullException.ThrowIfNull(shapeWithoutBatch);
        if (shapeWithoutBatch.Length == 0) throw new ArgumentException("The target shape needs at least one dimension.", nameof(shapeWithoutBatch));
        if (shapeWithoutBatch.Any(d => d == 0 || d < -1) || shapeWithoutBatch.Count(d => d == -1) > 1)
            throw new ArgumentException("Target sizes must be positive, with at most one -1.", nameof(shapeWithoutBatch));
        shape = (long[])shapeWithoutBatch.Clone();
        RegisterComponents();
    }

    /// <summary>The target shape without the batch dimension.</summary>
    public IReadOnlyList<long> Shape => shape;

    /// <summary>Reshapes each sample to <paramref name="shapeWithoutBatch"/>.</summary>
    /// <param name="shapeWithoutBatch">Target shape without the batch dimension.</param>
    /// <returns>The new module.</returns>
    public static Reshape To(params long[] shapeWithoutBatch) => new("reshape", shapeWithoutBatch);

    /// <summary>Reshapes flat [N, C*H*W] rows to [N, C, H, W] images (the layout of ML.NET's ExtractPixels with channels first).</summary>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <returns>The new module.</returns>
    public static Reshape ToImage(long channels, long height, long width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        return new("to_image", channels, height, width);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => x.reshape([x.shape[0], .. shape]);

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        // 0 copies the input's batch size (Reshape's default allowzero = 0).
        string target = g.AddInitializer(g.UniqueName(prefix + ".shape"), [0L, .. shape], shape.Length + 1);
        return g.AddNode("Reshape", [input, target], g.UniqueName(prefix + "/Reshape"));
    }
}
