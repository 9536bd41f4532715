using MLPipelines.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Transfer;

/// <summary>
/// A per-channel affine map applied to an NCHW image batch before a pretrained backbone:
/// <c>y[:, c] = x[:, c] * Scale[c] + Shift[c]</c>. The pipelines feed RGB pixels scaled to [0, 1] (pixel / 255);
/// each set of pretrained weights expects its own input convention, which this record reproduces.
/// </summary>
/// <param name="Scale">Per-channel factors.</param>
/// <param name="Shift">Per-channel offsets (added after scaling).</param>
public sealed record InputNormalization(IReadOnlyList<float> Scale, IReadOnlyList<float> Shift)
{
    /// <summary>
    /// Mean of ML.NET's <c>ResNetPreprocess.onnx</c> mean image per channel, in R, G, B order (the file swaps RGB to BGR
    /// and subtracts a 224x224 mean image whose channel averages are B 103.0626, G 115.9029, R 123.1516).
    /// </summary>
    public static IReadOnlyList<float> MlNetResNetMeanRgb { get; } = [123.151634f, 115.902885f, 103.06262f];

    /// <summary>
    /// torchvision's ImageNet convention on [0, 1] RGB input: <c>(x - mean) / std</c> with mean (0.485, 0.456, 0.406)
    /// and std (0.229, 0.224, 0.225).
    /// </summary>
    public static InputNormalization ImageNet { get; } = new(
        [1 / 0.229f, 1 / 0.224f, 1 / 0.225f],
        [-0.485f / 0.229f, -0.456f / 0.224f, -0.406f / 0.225f]);

    /// <summary>
    /// ML.NET's pretrained ResNet-18 convention on [0, 1] RGB input: back to the 0-255 pixel scale CNTK was trained on,
    /// minus the per-channel mean of <see cref="MlNetResNetMeanRgb"/>. (The original model subtracts a 224x224 mean
    /// image, which varies spatially by up to about 20 grey levels; its channel averages are used here so that any image
    /// size works. The BGR order of the original is folded into the first convolution when the weights are loaded.)
    /// </summary>
    public static InputNormalization MlNetResNet18 { get; } = new(
        [255f, 255f, 255f],
        [-MlNetResNetMeanRgb[0], -MlNetResNetMeanRgb[1], -MlNetResNetMeanRgb[2]]);

    /// <summary>Number of channels.</summary>
    public int Channels => Scale.Count;

    /// <summary>Throws <see cref="ArgumentException"/> when the scale and shift differ in length or hold non-finite values.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Scale);
        ArgumentNullException.ThrowIfNull(Shift);
        if (Scale.Count == 0 || Scale.Count != Shift.Count)
            throw new ArgumentException($"Scale and Shift must have the same, positive length; got {Scale.Count} and {Shift.Count}.");
        if (Scale.Concat(Shift).Any(v => !float.IsFinite(v)))
            throw new ArgumentException("Scale and Shift must be finite.");
    }

    /// <summary>Applies the map to an NCHW batch (the result is a new tensor).</summary>
    /// <param name="x">Input [N, C, H, W] with C = <see cref="Channels"/>.</param>
    /// <returns>The normalised batch.</returns>
    public Tensor Apply(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4 || x.shape[1] != Channels)
            throw new ArgumentException($"Input normalisation expects [N, {Channels}, H, W], got [{string.Join(", ", x.shape)}].", nameof(x));
        using var scale = torch.tensor(Scale.ToArray(), [1, Channels, 1, 1], dtype: x.dtype, device: x.device);
        using var shift = torch.tensor(Shift.ToArray(), [1, Channels, 1, 1], dtype: x.dtype, device: x.device);
        using var scaled = x.mul(scale);
        return scaled.add(shift);
    }

    /// <summary>Writes <c>Mul</c> and <c>Add</c> nodes computing the map into an ONNX graph.</summary>
    /// <param name="g">The graph under construction.</param>
    /// <param name="input">Name of the NCHW input tensor.</param>
    /// <param name="prefix">Name stem of the new values.</param>
    /// <returns>The name of the normalised tensor.</returns>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        ArgumentNullException.ThrowIfNull(g);
        string scale = g.AddInitializer(g.UniqueName(prefix + ".scale"), Scale.ToArray(), 1, Channels, 1, 1);
        string shift = g.AddInitializer(g.UniqueName(prefix + ".shift"), Shift.ToArray(), 1, Channels, 1, 1);
        string mul = g.AddNode("Mul", [input, scale], g.UniqueName(prefix + "/Mul"));
        return g.AddNode("Add", [mul, shift], g.UniqueName(prefix + "/Add"));
    }
}
