using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Nets;

/// <summary>
/// Options of <see cref="SmallResNet"/>: a from-scratch ResNet of basic blocks with narrow widths. Validated once by
/// <see cref="SmallResNet"/> (<see cref="Validate"/>); an invalid value throws an <see cref="ArgumentException"/> naming it.
/// </summary>
public sealed record SmallResNetOptions
{
    /// <summary>The default values, the one source the properties and the recipes read.</summary>
    public static class Defaults
    {
        /// <summary>Stage widths: 32-64-128-256.</summary>
        public static IReadOnlyList<int> Widths { get; } = [32, 64, 128, 256];

        /// <summary>Basic blocks per stage: 2.</summary>
        public const int BlocksPerStage = 2;

        /// <summary>Stride of the stem convolution: 2.</summary>
        public const int StemStride = 2;

        /// <summary>Dropout before the head: 0.2.</summary>
        public const double Dropout = 0.2;
    }

    /// <summary>Input channels C (1 for grayscale, 3 for RGB). The default value is 3.</summary>
    public int InputChannels { get; init; } = 3;

    /// <summary>Input image height H. The default value is 112.</summary>
    public int ImageHeight { get; init; } = 112;

    /// <summary>Input image width W. The default value is 112.</summary>
    public int ImageWidth { get; init; } = 112;

    /// <summary>Output channels of each stage (the stem has the first stage's width). The default value is 32-64-128-256.</summary>
    public IReadOnlyList<int> Widths { get; init; } = Defaults.Widths;

    /// <summary>Basic blocks per stage; every stage after the first halves the resolution in its first block. The default value is 2.</summary>
    public int BlocksPerStage { get; init; } = Defaults.BlocksPerStage;

    /// <summary>Stride of the 3x3 stem convolution (1 keeps the input resolution, 2 halves it). The default value is 2.</summary>
    public int StemStride { get; init; } = Defaults.StemStride;

    /// <summary>Dropout probability before the linear head; 0 for none. The default value is 0.2.</summary>
    public double Dropout { get; init; } = Defaults.Dropout;

    /// <summary>Number of classes K (outputs of the linear head, raw logits). The default value is 10.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>A short description such as "SmallResNet 32-64-128-256 x2, stem stride 2, dropout 0.2".</summary>
    public string Describe() => FormattableString.Invariant(
        $"SmallResNet {string.Join("-", Widths)} x{BlocksPerStage}, stem stride {StemStride}{(Dropout > 0 ? $", dropout {Dropout}" : "")}");

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be >= 1 (got {InputChannels}).", nameof(InputChannels));
        if (NumClasses < 1) throw new ArgumentException($"NumClasses must be >= 1 (got {NumClasses}).", nameof(NumClasses));
        if (Widths is null || Widths.Count == 0 || Widths.Any(w => w < 1))
            throw new ArgumentException("Widths needs at least one stage, each with at least one channel.", nameof(Widths));
        if (BlocksPerStage < 1) throw new ArgumentException($"BlocksPerStage must be >= 1 (got {BlocksPerStage}).", nameof(BlocksPerStage));
        if (StemStride is < 1 or > 4) throw new ArgumentException($"StemStride must be in [1, 4] (got {StemStride}).", nameof(StemStride));
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) throw new ArgumentException($"Dropout must be in [0, 1) (got {Dropout}).", nameof(Dropout));
        long minSize = StemStride * (1L << Math.Min(Widths.Count - 1, 30));
        if (ImageHeight < minSize || ImageWidth < minSize)
            throw new ArgumentException($"The stem and {Widths.Count - 1} strided stages need an image of at least {minSize}x{minSize} (got {ImageHeight}x{ImageWidth}).", nameof(ImageHeight));
    }
}

/// <summary>
/// A small ResNet for training from scratch: reshape to [N, C, H, W], a stem conv3x3 (stride <see cref="SmallResNetOptions.StemStride"/>)
/// - BatchNorm - ReLU, stages of <see cref="Residual.BasicBlock"/>s (the first block of every stage after the first has
/// stride 2), global average pooling, dropout and a linear head. Convolutions get He (fan_out) init; the last BatchNorm
/// of every residual branch starts at weight 0, so each block starts as the identity (Goyal et al. 2017), which helps
/// deep nets train from scratch. Weights come from TorchSharp's global generator (<see cref="TorchSeed.Set"/> first).
/// Exports to ONNX (<see cref="IOnnxExportable"/>).
/// </summary>
public sealed class SmallResNet : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Sequential features;
    private readonly Sequential classifier;

    /// <summary>Builds the network described by <paramref name="options"/>.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="options">The architecture (validated here).</param>
    public SmallResNet(string name, SmallResNetOptions options) : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;

        var f = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("reshape", Reshape.ToImage(options.InputChannels, options.ImageHeight, options.ImageWidth)),
            ("stem", nn.Sequential(
                ("conv", HeInit.Conv(nn.Conv2d(options.InputChannels, options.Widths[0], 3, stride: options.StemStride, padding: 1, bias: false))),
                ("bn", nn.BatchNorm2d(options.Widths[0])),
                ("relu", nn.ReLU()))),
        };
        int inCh = options.Widths[0];
        for (int s = 0; s < options.Widths.Count; s++)
        {
            var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int b = 0; b < options.BlocksPerStage; b++)
            {
                var block = Residual.BasicBlock(inCh, options.Widths[s], stride: s > 0 && b == 0 ? 2 : 1);
                ZeroLastBatchNorm(block);
                blocks.Add(($"block{b + 1}", block));
                inCh = options.Widths[s];
            }
            f.Add(($"stage{s + 1}", nn.Sequential(blocks)));
        }
        features = nn.Sequential(f);

        classifier = ConvNet.PooledClassifier(inCh, options.Dropout, options.NumClasses);

        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public SmallResNetOptions Options { get; }

    /// <summary>Creates the network described by <paramref name="options"/> (call <see cref="TorchSeed.Set"/> first for reproducible weights).</summary>
    /// <param name="options">The architecture.</param>
    /// <returns>The new module.</returns>
    public static SmallResNet Create(SmallResNetOptions options) => new("small_resnet", options);

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var h = features.forward(x);
        return classifier.forward(h);
    }

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        string h = TorchOnnxExporter.WriteModule(g, features, input, prefix + ".features");
        return TorchOnnxExporter.WriteModule(g, classifier, h, prefix + ".classifier");
    }

    private static void ZeroLastBatchNorm(Residual block)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in block.named_parameters())
            if (name == "body.bn2.weight")
                p.zero_();
    }
}
