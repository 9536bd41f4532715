using System.Globalization;
using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using MLPipelines.Torch.Nets;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Transfer;

/// <summary>
/// torchvision's DenseNet (TorchVision for .NET has none) with torchvision's names: <c>features.conv0</c>,
/// <c>features.norm0</c>, <c>features.denseblock1.denselayer1.norm1/conv1/norm2/conv2</c>,
/// <c>features.transition1.norm/conv</c>, ..., <c>features.norm5</c>, <c>classifier</c>. Forward:
/// <c>classifier(flatten(avgpool(relu(features(x)))))</c>.
/// </summary>
public sealed class DenseNet : TorchBackbone
{
    private readonly Sequential features;
    private Linear classifier;
    private readonly int featureCount;
    private readonly IReadOnlyList<BackboneStage> stages;

    private DenseNet(int growthRate, IReadOnlyList<int> blockConfig, int numInitFeatures, int bnSize, int numClasses) : base("DenseNet")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(growthRate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numInitFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bnSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (blockConfig.Count == 0 || blockConfig.Any(n => n < 1))
            throw new ArgumentException("Every dense block needs at least one layer.", nameof(blockConfig));
        BlockConfig = blockConfig.ToArray();
        GrowthRate = growthRate;
        var list = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("conv0", KaimingFanIn(nn.Conv2d(3, numInitFeatures, 7, stride: 2, padding: 3, bias: false))),
            ("norm0", nn.BatchNorm2d(numInitFeatures)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(3, stride: 2, padding: 1)),
        };
        var stageList = new List<BackboneStage> { new("stem", ["features.conv0.", "features.norm0."]) };
        int channels = numInitFeatures;
        for (int b = 0; b < blockConfig.Count; b++)
        {
            string n = (b + 1).ToString(CultureInfo.InvariantCulture);
            var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int l = 0; l < blockConfig[b]; l++)
            {
                layers.Add(("denselayer" + (l + 1).ToString(CultureInfo.InvariantCulture), new DenseLayer(channels, growthRate, bnSize)));
                channels += growthRate;
            }
            list.Add(("denseblock" + n, nn.Sequential(layers)));
            var prefixes = new List<string> { $"features.denseblock{n}." };
            if (b != blockConfig.Count - 1)
            {
                list.Add(("transition" + n, nn.Sequential(
                    ("norm", nn.BatchNorm2d(channels)),
                    ("relu", nn.ReLU()),
                    ("conv", KaimingFanIn(nn.Conv2d(channels, channels / 2, 1, bias: false))),
                    ("pool", nn.AvgPool2d(2, stride: 2)))));
                prefixes.Add($"features.transition{n}.");
                channels /= 2;
            }
            else
            {
                prefixes.Add("features.norm5.");
            }
            stageList.Add(new BackboneStage("block" + n, prefixes));
        }
        list.Add(("norm5", nn.BatchNorm2d(channels)));
        features = nn.Sequential(list);
        featureCount = channels;
        classifier = nn.Linear(channels, numClasses);
        nn.init.zeros_(classifier.bias!);
        stages = stageList;
        RegisterComponents();
        InitializeStages();
    }

    /// <summary>torchvision's DenseNet initialisation: Kaiming normal, fan_in, ReLU gain (fan_out would amplify the 1x1 bottlenecks' inputs 8x per layer).</summary>
    internal static Conv2d KaimingFanIn(Conv2d conv)
    {
        nn.init.kaiming_normal_(conv.weight!);
        return conv;
    }

    /// <summary>Layers per dense block (e.g. [6, 12, 24, 16] for DenseNet-121).</summary>
    public IReadOnlyList<int> BlockConfig { get; }

    /// <summary>Channels added by every dense layer.</summary>
    public int GrowthRate { get; }

    /// <inheritdoc/>
    public override int FeatureCount => featureCount;

    /// <inheritdoc/>
    public override string HeadName => "classifier";

    /// <inheritdoc/>
    public override IReadOnlyList<BackboneStage> Stages => stages;

    /// <inheritdoc/>
    protected override Linear HeadLinear => classifier;

    /// <summary>torchvision's DenseNet-121: growth 32, blocks [6, 12, 24, 16], 64 initial features, bottleneck 4 x growth; 1024-d embedding, 8.0 M parameters with 1000 classes.</summary>
    /// <param name="numClasses">Outputs of <c>classifier</c>.</param>
    /// <returns>The network.</returns>
    public static DenseNet DenseNet121(int numClasses = 1000) => new(32, [6, 12, 24, 16], 64, 4, numClasses);

    /// <summary>A DenseNet with torchvision's structure and the given sizes.</summary>
    /// <param name="growthRate">Channels added per layer.</param>
    /// <param name="blockConfig">Layers per dense block.</param>
    /// <param name="numInitFeatures">Channels of conv0.</param>
    /// <param name="bnSize">Bottleneck width multiplier (conv1 outputs bnSize x growthRate channels).</param>
    /// <param name="numClasses">Outputs of <c>classifier</c>.</param>
    /// <returns>The network.</returns>
    public static DenseNet Create(int growthRate, IReadOnlyList<int> blockConfig, int numInitFeatures = 64, int bnSize = 4, int numClasses = 1000)
    {
        ArgumentNullException.ThrowIfNull(blockConfig);
        return new(growthRate, blockConfig, numInitFeatures, bnSize, numClasses);
    }

    /// <inheritdoc/>
    protected override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(features.forward(x));
        return nn.functional.adaptive_avg_pool2d(y, 1).flatten(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    protected override string WriteFeatureMapOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        string y = TorchOnnxExporter.WriteModule(g, features, input, prefix + ".features");
        return g.AddNode("Relu", [y], g.UniqueName(prefix + "/Relu"));
    }

    /// <inheritdoc/>
    protected override void SetHead(Linear head) => classifier = SwapHead(classifier, head);
}

/// <summary>
/// torchvision's DenseNet layer: <c>cat([x, conv2(relu2(norm2(conv1(relu1(norm1(x))))))], 1)</c> with a 1x1 bottleneck
/// of bnSize x growth channels and a 3x3 convolution adding growth channels (the computation of
/// <see cref="ConcatBranches.DenseLayer"/> plus the bottleneck, under torchvision's names).
/// </summary>
public sealed class DenseLayer : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly BatchNorm2d norm1;
    private readonly ReLU relu1;
    private readonly Conv2d conv1;
    private readonly BatchNorm2d norm2;
    private readonly ReLU relu2;
    private readonly Conv2d conv2;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="growthRate">Channels added.</param>
    /// <param name="bnSize">Bottleneck multiplier.</param>
    public DenseLayer(int inChannels, int growthRate, int bnSize) : base("DenseLayer")
    {
        norm1 = nn.BatchNorm2d(inChannels);
        relu1 = nn.ReLU();
        conv1 = DenseNet.KaimingFanIn(nn.Conv2d(inChannels, bnSize * growthRate, 1, bias: false));
        norm2 = nn.BatchNorm2d(bnSize * growthRate);
        relu2 = nn.ReLU();
        conv2 = DenseNet.KaimingFanIn(nn.Conv2d(bnSize * growthRate, growthRate, 3, padding: 1, bias: false));
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = conv1.forward(relu1.forward(norm1.forward(x)));
        y = conv2.forward(relu2.forward(norm2.forward(y)));
        return torch.cat([x, y], 1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        string y = TorchOnnxExporter.WriteSequence(g, input, prefix,
            ("norm1", norm1), ("relu1", relu1), ("conv1", conv1), ("norm2", norm2), ("relu2", relu2), ("conv2", conv2));
        return g.AddNode("Concat", [input, y], g.UniqueName(prefix + "/Concat"), OnnxAttribute.Int("axis", 1));
    }
}
