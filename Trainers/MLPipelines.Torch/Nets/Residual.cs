using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Nets;

/// <summary>
/// A residual connection: <c>y = activation(body(x) + shortcut(x))</c>, where the shortcut is the identity unless a
/// module is given (e.g. a strided 1x1 convolution when the shape changes) and the activation is optional.
/// </summary>
public sealed class Residual : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly nn.Module<Tensor, Tensor> body;
    private readonly nn.Module<Tensor, Tensor>? shortcut;
    private readonly nn.Module<Tensor, Tensor>? activation;

    /// <summary>Creates a residual connection around <paramref name="body"/>.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="body">The residual branch f(x); its output must have the shortcut's shape.</param>
    /// <param name="shortcut">The shortcut branch; null for the identity.</param>
    /// <param name="activation">Applied after the addition; null for none.</param>
    public Residual(string name, nn.Module<Tensor, Tensor> body, nn.Module<Tensor, Tensor>? shortcut = null, nn.Module<Tensor, Tensor>? activation = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(body);
        this.body = body;
        this.shortcut = shortcut;
        this.activation = activation;
        RegisterComponents();
    }

    /// <summary>Whether the shortcut is the identity.</summary>
    public bool HasIdentityShortcut => shortcut is null;

    /// <summary>Creates <c>activation(body(x) + shortcut(x))</c>; see the constructor.</summary>
    /// <param name="body">The residual branch f(x).</param>
    /// <param name="shortcut">The shortcut branch; null for the identity.</param>
    /// <param name="activation">Applied after the addition; null for none.</param>
    /// <returns>The new module.</returns>
    public static Residual Of(nn.Module<Tensor, Tensor> body, nn.Module<Tensor, Tensor>? shortcut = null, nn.Module<Tensor, Tensor>? activation = null) =>
        new("residual", body, shortcut, activation);

    /// <summary>
    /// A ResNet basic block: conv3x3(stride)-BN-ReLU-conv3x3-BN plus a shortcut (identity, or conv1x1(stride)-BN
    /// when the stride or channel count changes), then ReLU. Convolutions have no bias and He (fan_out) init.
    /// </summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Stride of the first convolution (and of the projection shortcut).</param>
    /// <returns>The new block.</returns>
    public static Residual BasicBlock(int inChannels, int outChannels, int stride = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        var body = nn.Sequential(
            ("conv1", HeInit.Conv(nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false))),
            ("bn1", nn.BatchNorm2d(outChannels)),
            ("relu", nn.ReLU()),
            ("conv2", HeInit.Conv(nn.Conv2d(outChannels, outChannels, 3, padding: 1, bias: false))),
            ("bn2", nn.BatchNorm2d(outChannels)));
        nn.Module<Tensor, Tensor>? shortcut = stride == 1 && inChannels == outChannels
            ? null
            : nn.Sequential(
                ("conv", HeInit.Conv(nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false))),
                ("bn", nn.BatchNorm2d(outChannels)));
        return new Residual("basic_block", body, shortcut, nn.ReLU());
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var f = body.forward(x);
        var s = shortcut is null ? x : shortcut.forward(x);
        var sum = f.add(s);
        if (!ReferenceEquals(f, x)) f.Dispose();
        if (!ReferenceEquals(s, x)) s.Dispose();
        if (activation is null) return sum;
        var y = activation.forward(sum);
        if (!ReferenceEquals(y, sum)) sum.Dispose();
        return y;
    }

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        string f = TorchOnnxExporter.WriteModule(g, body, input, prefix + ".body");
        string s = shortcut is null ? input : TorchOnnxExporter.WriteModule(g, shortcut, input, prefix + ".shortcut");
        string sum = g.AddNode("Add", [f, s], g.UniqueName(prefix + "/Add"));
        return activation is null ? sum : TorchOnnxExporter.WriteModule(g, activation, sum, prefix + ".activation");
    }
}
