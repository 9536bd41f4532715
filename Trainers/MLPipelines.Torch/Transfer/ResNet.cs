using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using MLPipelines.Torch.Nets;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Transfer;

/// <summary>
/// torchvision's ResNet with torchvision's module and parameter names (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>,
/// <c>layer2.0.downsample.0</c>/<c>.1</c>, ..., <c>fc</c>), so torchvision <c>.pth</c> state dicts load by name
/// (<see cref="PretrainedWeights.LoadTorchvisionWeights"/>). Created with <see cref="ResNet18"/>, <see cref="ResNet50"/>,
/// <see cref="MlNetResNet18"/> or <see cref="Create"/>.
/// </summary>
public sealed class ResNet : TorchBackbone
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly AdaptiveAvgPool2d avgpool;
    private Linear fc;
    private readonly int featureCount;
    private readonly IReadOnlyList<BackboneStage> stages;

    private ResNet(bool bottleneck, IReadOnlyList<int> layers, int numClasses) : base("ResNet")
    {
        if (layers.Count != 4 || layers.Any(n => n < 1))
            throw new ArgumentException("A ResNet needs four stages of at least one block each.", nameof(layers));
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        Bottleneck = bottleneck;
        Layers = layers.ToArray();
        int expansion = bottleneck ? 4 : 1;
        conv1 = HeInit.Conv(nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false));
        bn1 = nn.BatchNorm2d(64);
        relu = nn.ReLU();
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        int inplanes = 64;
        Sequential MakeLayer(int planes, int blocks, int stride)
        {
            var list = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int i = 0; i < blocks; i++)
            {
                int s = i == 0 ? stride : 1;
                Sequential? downsample = null;
                if (i == 0 && (s != 1 || inplanes != planes * expansion))
                    downsample = nn.Sequential(
                        HeInit.Conv(nn.Conv2d(inplanes, planes * expansion, 1, stride: s, bias: false)),
                        nn.BatchNorm2d(planes * expansion));
                list.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    bottleneck ? new BottleneckBlock(inplanes, planes, s, downsample) : new BasicBlock(inplanes, planes, s, downsample)));
                inplanes = planes * expansion;
            }
            return nn.Sequential(list);
        }
        layer1 = MakeLayer(64, layers[0], 1);
        layer2 = MakeLayer(128, layers[1], 2);
        layer3 = MakeLayer(256, layers[2], 2);
        layer4 = MakeLayer(512, layers[3], 2);
        avgpool = nn.AdaptiveAvgPool2d(1);
        featureCount = 512 * expansion;
        fc = nn.Linear(featureCount, numClasses);
        stages =
        [
            new BackboneStage("stem", ["conv1.", "bn1."]),
            new BackboneStage("layer1", ["layer1."]),
            new BackboneStage("layer2", ["layer2."]),
            new BackboneStage("layer3", ["layer3."]),
            new BackboneStage("layer4", ["layer4."]),
        ];
        RegisterComponents();
        InitializeStages();
    }

    /// <summary>Whether the blocks are bottlenecks (ResNet-50 and deeper) rather than basic blocks.</summary>
    public bool Bottleneck { get; }

    /// <summary>Blocks per stage (e.g. [2, 2, 2, 2] for ResNet-18).</summary>
    public IReadOnlyList<int> Layers { get; }

    /// <inheritdoc/>
    public override int FeatureCount => featureCount;

    /// <inheritdoc/>
    public override string HeadName => "fc";

    /// <inheritdoc/>
    public override IReadOnlyList<BackboneStage> Stages => stages;

    /// <inheritdoc/>
    protected override Linear HeadLinear => fc;

    /// <summary>torchvision's ResNet-18: basic blocks [2, 2, 2, 2], 512-d embedding, 11.7 M parameters with 1000 classes.</summary>
    /// <param name="numClasses">Outputs of <c>fc</c>.</param>
    /// <returns>The network with He-initialised convolutions.</returns>
    public static ResNet ResNet18(int numClasses = 1000) => new(false, [2, 2, 2, 2], numClasses);

    /// <summary>torchvision's ResNet-34: basic blocks [3, 4, 6, 3].</summary>
    /// <param name="numClasses">Outputs of <c>fc</c>.</param>
    /// <returns>The network.</returns>
    public static ResNet ResNet34(int numClasses = 1000) => new(false, [3, 4, 6, 3], numClasses);

    /// <summary>torchvision's ResNet-50 (v1.5, stride on the 3x3 convolution): bottlenecks [3, 4, 6, 3], 2048-d embedding, 25.6 M parameters with 1000 classes.</summary>
    /// <param name="numClasses">Outputs of <c>fc</c>.</param>
    /// <returns>The network.</returns>
    public static ResNet ResNet50(int numClasses = 1000) => new(true, [3, 4, 6, 3], numClasses);

    /// <summary>
    /// The layout of ML.NET's pretrained "ResNet-18" (Microsoft.ML.DnnImageFeaturizer.ResNet18, a CNTK model): basic
    /// blocks [2, 2, 2, 3]. CNTK's ImageNet ResNet-18 definition stacks one more block in the last stage than
    /// torchvision's, so its 22 convolutions do not fit <see cref="ResNet18"/>; names follow torchvision
    /// (<c>layer4.2.*</c> is the extra block). Load the weights with <see cref="PretrainedWeights.LoadMlNetResNet18"/>.
    /// </summary>
    /// <param name="numClasses">Outputs of <c>fc</c>.</param>
    /// <returns>The network.</returns>
    public static ResNet MlNetResNet18(int numClasses = 1000) => new(false, [2, 2, 2, 3], numClasses);

    /// <summary>A ResNet with the given block type and blocks per stage.</summary>
    /// <param name="bottleneck">Bottleneck blocks (expansion 4) instead of basic blocks.</param>
    /// <param name="layers">Blocks in each of the four stages.</param>
    /// <param name="numClasses">Outputs of <c>fc</c>.</param>
    /// <returns>The network.</returns>
    public static ResNet Create(bool bottleneck, IReadOnlyList<int> layers, int numClasses = 1000)
    {
        ArgumentNullException.ThrowIfNull(layers);
        return new(bottleneck, layers, numClasses);
    }

    /// <inheritdoc/>
    protected override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = maxpool.forward(relu.forward(bn1.forward(conv1.forward(x))));
        y = layer4.forward(layer3.forward(layer2.forward(layer1.forward(y))));
        return avgpool.forward(y).flatten(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    protected override string WriteFeatureMapOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        return TorchOnnxExporter.WriteSequence(g, input, prefix,
            ("conv1", conv1), ("bn1", bn1), ("relu", relu), ("maxpool", maxpool),
            ("layer1", layer1), ("layer2", layer2), ("layer3", layer3), ("layer4", layer4));
    }

    /// <inheritdoc/>
    protected override void SetHead(Linear head) => fc = SwapHead(fc, head);

    /// <summary>relu(body + downsample(input)) of a residual block, the identity when <paramref name="downsample"/> is null.</summary>
    internal static string WriteResidualSum(OnnxGraphBuilder g, string body, string input, Sequential? downsample, string prefix)
    {
        string identity = downsample is null ? input : TorchOnnxExporter.WriteModule(g, downsample, input, prefix + ".downsample");
        string sum = g.AddNode("Add", [body, identity], g.UniqueName(prefix + "/Add"));
        return g.AddNode("Relu", [sum], g.UniqueName(prefix + "/Relu"));
    }
}

/// <summary>
/// torchvision's ResNet basic block: <c>relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x))</c>, with torchvision's
/// names (conv1, bn1, conv2, bn2, downsample.0/1). (<see cref="Residual.BasicBlock"/> computes the same but names its
/// parts body/shortcut, so torchvision state dicts would not load into it.)
/// </summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;

    /// <summary>Creates the block.</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of conv1 (and of the downsample).</param>
    /// <param name="downsample">Projection of the input when the shape changes (conv1x1 + BN), or null for identity.</param>
    public BasicBlock(int inplanes, int planes, int stride = 1, Sequential? downsample = null) : base("BasicBlock")
    {
        conv1 = HeInit.Conv(nn.Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false));
        bn1 = nn.BatchNorm2d(planes);
        relu = nn.ReLU();
        conv2 = HeInit.Conv(nn.Conv2d(planes, planes, 3, padding: 1, bias: false));
        bn2 = nn.BatchNorm2d(planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = bn2.forward(conv2.forward(relu.forward(bn1.forward(conv1.forward(x)))));
        var identity = downsample is null ? x : downsample.forward(x);
        return relu.forward(y.add(identity)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        string y = TorchOnnxExporter.WriteSequence(g, input, prefix, ("conv1", conv1), ("bn1", bn1), ("relu", relu), ("conv2", conv2), ("bn2", bn2));
        return ResNet.WriteResidualSum(g, y, input, downsample, prefix);
    }
}

/// <summary>
/// torchvision's ResNet bottleneck (v1.5, stride on the 3x3 convolution):
/// <c>relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + downsample(x))</c>, 4x channel expansion, torchvision's names.
/// </summary>
public sealed class BottleneckBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly ReLU relu;
    private readonly Sequential? downsample;

    /// <summary>Creates the block (output channels 4 x <paramref name="planes"/>).</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Width of the 3x3 convolution.</param>
    /// <param name="stride">Stride of conv2 (and of the downsample).</param>
    /// <param name="downsample">Projection of the input when the shape changes, or null for identity.</param>
    public BottleneckBlock(int inplanes, int planes, int stride = 1, Sequential? downsample = null) : base("Bottleneck")
    {
        conv1 = HeInit.Conv(nn.Conv2d(inplanes, planes, 1, bias: false));
        bn1 = nn.BatchNorm2d(planes);
        conv2 = HeInit.Conv(nn.Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false));
        bn2 = nn.BatchNorm2d(planes);
        conv3 = HeInit.Conv(nn.Conv2d(planes, planes * 4, 1, bias: false));
        bn3 = nn.BatchNorm2d(planes * 4);
        relu = nn.ReLU();
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = relu.forward(bn1.forward(conv1.forward(x)));
        y = relu.forward(bn2.forward(conv2.forward(y)));
        y = bn3.forward(conv3.forward(y));
        var identity = downsample is null ? x : downsample.forward(x);
        return relu.forward(y.add(identity)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        string y = TorchOnnxExporter.WriteSequence(g, input, prefix,
            ("conv1", conv1), ("bn1", bn1), ("relu", relu), ("conv2", conv2), ("bn2", bn2), ("relu", relu), ("conv3", conv3), ("bn3", bn3));
        return ResNet.WriteResidualSum(g, y, input, downsample, prefix);
    }
}
