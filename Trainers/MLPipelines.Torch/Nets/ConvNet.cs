using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Nets;

/// <summary>
/// The course's "CNN from scratch": reshape to [N, C, H, W] (so flat ML.NET vectors and NCHW tensors are both
/// accepted), N blocks of conv3x3(pad 1) - BatchNorm (optional) - ReLU - maxpool 2, global average pooling, flatten,
/// dropout (optional) and a linear head producing K logits. Convolutions get He normal init (fan_out, ReLU) and zero
/// bias; BatchNorm starts at weight 1, bias 0; the head keeps TorchSharp's default Linear init. Weights come from
/// TorchSharp's global generator: seed it first (<see cref="TorchSeed.Set"/>) for reproducible networks.
/// </summary>
public sealed class ConvNet : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Sequential features;
    private readonly Sequential classifier;

    /// <summary>Builds the network described by <paramref name="options"/>.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="options">The architecture (validated).</param>
    public ConvNet(string name, ConvNetOptions options) : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;

        var f = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("reshape", Reshape.ToImage(options.InputChannels, options.ImageHeight, options.ImageWidth)),
        };
        long inCh = options.InputChannels;
        for (int i = 0; i < options.Channels.Count; i++)
        {
            long outCh = options.Channels[i];
            var block = new List<(string, nn.Module<Tensor, Tensor>)>
            {
                ("conv", HeInit.Conv(nn.Conv2d(inCh, outCh, 3, padding: 1, bias: !options.BatchNorm))),
            };
            if (options.BatchNorm) block.Add(("bn", nn.BatchNorm2d(outCh)));
            block.Add(("relu", nn.ReLU()));
            block.Add(("pool", nn.MaxPool2d(2)));
            f.Add(($"block{i + 1}", nn.Sequential(block)));
            inCh = outCh;
        }
        features = nn.Sequential(f);

        classifier = ConvNet.PooledClassifier(inCh, options.Dropout, options.NumClasses);

        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public ConvNetOptions Options { get; }

    /// <summary>
    /// The classifier both from-scratch networks end with: global average pooling, flatten, dropout (when
    /// <paramref name="dropout"/> &gt; 0) and a linear head; the names (gap, flatten, dropout, head) are those the
    /// ONNX exporter and saved state dicts use.
    /// </summary>
    /// <param name="channels">Channels of the last feature map.</param>
    /// <param name="dropout">Dropout probability before the head.</param>
    /// <param name="classes">Logits.</param>
    internal static Sequential PooledClassifier(long channels, double dropout, long classes)
    {
        var c = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("gap", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()),
        };
        if (dropout > 0) c.Add(("dropout", nn.Dropout(dropout)));
        c.Add(("head", nn.Linear(channels, classes)));
        return nn.Sequential(c);
    }

    /// <summary>Input length of one flat sample: C * H * W.</summary>
    public long FlatInputSize => (long)Options.InputChannels * Options.ImageHeight * Options.ImageWidth;

    /// <summary>Creates the network described by <paramref name="options"/> (call <see cref="TorchSeed.Set"/> first for reproducible weights).</summary>
    /// <param name="options">The architecture.</param>
    /// <returns>The new module.</returns>
    public static ConvNet Create(ConvNetOptions options) => new("convnet", options);

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
}
