using MLPipelines.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Export;

/// <summary>
/// Compiles a TorchSharp module into ONNX nodes (TorchSharp cannot export ONNX itself, dotnet/TorchSharp #1281).
/// The graph always computes the module's inference (eval-mode) forward pass: dropout is the identity and batch
/// normalization uses the running statistics, whatever the module's current training flag; the module itself is not
/// changed (except that <see cref="Export"/> briefly switches it to eval mode for a shape probe and restores it).
/// </summary>
/// <remarks>
/// Supported: <see cref="Sequential"/> (recursively), Linear, Conv1d/Conv2d/Conv3d (stride, zero padding including
/// "same"/"valid", dilation, groups, with or without bias), BatchNorm1d/2d/3d with running statistics, ReLU, LeakyReLU,
/// Sigmoid, Tanh, ELU, SiLU, GELU (exact), Softmax, LogSoftmax, Dropout/Dropout1d/Dropout2d/Dropout3d/AlphaDropout
/// (identity), MaxPool2d, AvgPool2d (count_include_pad, ceil_mode), AdaptiveAvgPool2d to 1x1 (GlobalAveragePool),
/// Flatten, Unflatten, Identity, and any module implementing <see cref="IOnnxExportable"/>. Anything else throws
/// <see cref="NotSupportedException"/> naming the module's path and type, e.g. "net.features.3 (MyOddLayer)".
/// </remarks>
public static class TorchOnnxExporter
{
    /// <summary>
    /// Writes named child modules one after another (a chain, like Sequential without the container), each under
    /// <c>prefix.name</c>.
    /// </summary>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="input">The chain's input tensor.</param>
    /// <param name="prefix">Path of the owning module.</param>
    /// <param name="parts">The children in order, with their state-dict names.</param>
    /// <returns>The name of the last module's output.</returns>
    public static string WriteSequence(OnnxGraphBuilder graph, string input, string prefix, params (string Name, nn.Module<Tensor, Tensor> Module)[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        string x = input;
        foreach (var (name, module) in parts)
            x = WriteModule(graph, module, x, prefix + "." + name);
        return x;
    }

    /// <summary>
    /// Writes the eval-mode forward pass of <paramref name="module"/> applied to <paramref name="input"/> into
    /// <paramref name="graph"/> and returns the name of the output tensor.
    /// </summary>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="module">The module to compile; its parameters and buffers are copied into initializers as float32.</param>
    /// <param name="input">Name of an existing float tensor in the graph: NCHW for images, [N, D] for vectors.</param>
    /// <param name="prefix">Path of <paramref name="module"/> used to name values and in error messages.</param>
    /// <returns>The name of the tensor holding the module's output (may equal <paramref name="input"/> for identities).</returns>
    /// <exception cref="NotSupportedException">A module (or a setting of one) in the tree cannot be exported.</exception>
    public static string WriteModule(OnnxGraphBuilder graph, nn.Module<Tensor, Tensor> module, string input, string prefix = "net")
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(input);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        return Write(graph, module, input, prefix);
    }

    /// <summary>
    /// Exports <paramref name="module"/> as a standalone ONNX model (opset 17) with one float input
    /// <paramref name="inputName"/> of shape [N, ..<paramref name="inputShapeWithoutBatch"/>] (N dynamic) and one float
    /// output <paramref name="outputName"/> of shape [N, ...]. The output shape is found by one eval-mode forward pass
    /// of a zero batch of 1 under no_grad; the module's training flag is restored afterwards.
    /// </summary>
    /// <param name="module">The module to export.</param>
    /// <param name="inputShapeWithoutBatch">Input shape without the batch dimension, e.g. [1, 28, 28] or [784].</param>
    /// <param name="inputName">Name of the graph input.</param>
    /// <param name="outputName">Name of the graph output.</param>
    /// <returns>The serialized ONNX model.</returns>
    /// <exception cref="NotSupportedException">A module (or a setting of one) in the tree cannot be exported.</exception>
    public static byte[] Export(nn.Module<Tensor, Tensor> module, long[] inputShapeWithoutBatch, string inputName = "input", string outputName = "output")
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(inputShapeWithoutBatch);
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        ArgumentException.ThrowIfNullOrEmpty(outputName);
        if (inputName == outputName) throw new ArgumentException("Input and output names must differ.", nameof(outputName));
        if (inputShapeWithoutBatch.Any(d => d <= 0))
            throw new ArgumentException("Input dimensions (without batch) must be positive.", nameof(inputShapeWithoutBatch));

        long[] outShape = ProbeOutputShape(module, inputShapeWithoutBatch);
        var g = new OnnxGraphBuilder("torch_module");
        g.AddInput(inputName, OnnxElementType.Float, [-1, .. inputShapeWithoutBatch]);
        string y = Write(g, module, inputName, "net");
        g.AddNode("Identity", [y], outputName);
        g.AddOutput(outputName, OnnxElementType.Float, [-1, .. outShape.Skip(1)]);
        return g.ToBytes();
    }

    /// <summary>
    /// Adds <paramref name="tensor"/> (any float dtype, any device) to <paramref name="graph"/> as a float32 initializer
    /// with a fresh name built from <paramref name="name"/>, and returns that name. For <see cref="IOnnxExportable"/> implementers.
    /// </summary>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="tensor">The tensor to copy (not modified).</param>
    /// <param name="name">Name stem, e.g. "net.0.weight"; a suffix keeps it unique.</param>
    /// <returns>The initializer's name.</returns>
    public static string AddTensor(OnnxGraphBuilder graph, Tensor tensor, string name)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var t = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        return graph.AddInitializer(graph.UniqueName(name), t.data<float>().ToArray(), t.shape);
    }

    private static long[] ProbeOutputShape(nn.Module<Tensor, Tensor> module, long[] inputShapeWithoutBatch)
    {
        bool wasTraining = module.training;
        try
        {
            module.eval();
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var p = module.parameters().FirstOrDefault();
            var x = zeros([1, .. inputShapeWithoutBatch], ScalarType.Float32, p?.device);
            if (p is not null && p.dtype != ScalarType.Float32) x = x.to(p.dtype);
            return module.forward(x).shape;
        }
        finally
        {
            if (wasTraining) module.train();
        }
    }

    private static string Name(OnnxGraphBuilder g, string path, string op) => g.UniqueName($"{path}/{op}");

    private static string Node(OnnxGraphBuilder g, string path, string op, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes) =>
        g.AddNode(op, inputs, Name(g, path, op), attributes);

    private static NotSupportedException Unsupported(string path, nn.Module module, string? why = null) =>
        new($"Cannot export {path} ({module.GetType().Name}) to ONNX: "
            + (why ?? "TorchOnnxExporter does not know this module type; implement IOnnxExportable on it or build the network from supported layers."));

    private static string Write(OnnxGraphBuilder g, nn.Module module, string x, string path)
    {
        switch (module)
        {
            case IOnnxExportable custom:
                return custom.WriteOnnx(g, x, path);
            case Sequential seq:
                foreach (var (name, child) in seq.named_children())
                    x = Write(g, child, x, $"{path}.{name}");
                return x;
            case Identity:
            case Dropout:
            case Dropout1d:
            case Dropout2d:
            case Dropout3d:
            case AlphaDropout:
            case FeatureAlphaDropout:
                return x; // inference: identity
            case Linear linear:
                return WriteLinear(g, linear, x, path);
            case Convolution conv:
                return WriteConv(g, conv, x, path);
            case BatchNorm bn:
                return WriteBatchNorm(g, bn, x, path);
            case ReLU:
                return Node(g, path, "Relu", [x]);
            case LeakyReLU lrelu:
                return Node(g, path, "LeakyRelu", [x], OnnxAttribute.Float("alpha", (float)lrelu.negative_slope));
            case Sigmoid:
                return Node(g, path, "Sigmoid", [x]);
            case Tanh:
                return Node(g, path, "Tanh", [x]);
            case ELU elu:
                return Node(g, path, "Elu", [x], OnnxAttribute.Float("alpha", (float)elu.alpha));
            case SiLU:
                return Node(g, path, "Mul", [x, Node(g, path, "Sigmoid", [x])]);
            case GELU gelu:
                return WriteGelu(g, gelu, x, path);
            case Softmax sm:
                return Node(g, path, "Softmax", [x], OnnxAttribute.Int("axis", sm.dim));
            case LogSoftmax lsm:
                return Node(g, path, "LogSoftmax", [x], OnnxAttribute.Int("axis", lsm.dim));
            case MaxPool2d mp:
                return WriteMaxPool(g, mp, x, path);
            case AvgPool2d ap:
                return WriteAvgPool(g, ap, x, path);
            case AdaptiveAvgPool2d aap:
                if (aap.output_size is null || aap.output_size.Length == 0 || aap.output_size.Any(s => s != 1))
                    throw Unsupported(path, module, $"only output size 1x1 (global average pooling) is supported, not [{string.Join(", ", aap.output_size ?? [])}].");
                return Node(g, path, "GlobalAveragePool", [x]);
            case Flatten flatten:
                return WriteFlatten(g, flatten.start_dim, flatten.end_dim, x, path);
            case Unflatten unflatten:
                return WriteUnflatten(g, unflatten.dim, unflatten.unflattened_size, x, path);
            default:
                throw Unsupported(path, module);
        }
    }

    private static string WriteLinear(OnnxGraphBuilder g, Linear linear, string x, string path)
    {
        using var _ = no_grad();
        using var wt = linear.weight!.detach().t();
        string w = AddTensor(g, wt, $"{path}.weight_t");
        string y = Node(g, path, "MatMul", [x, w]);
        if (linear.bias is { } bias)
            y = Node(g, path, "Add", [y, AddTensor(g, bias, $"{path}.bias")]);
        return y;
    }

    private static long[] Expand(long[]? v, int n, long fallback, string what, string path, nn.Module m)
    {
        if (v is null || v.Length == 0) return Enumerable.Repeat(fallback, n).ToArray();
        if (v.Length == 1) return Enumerable.Repeat(v[0], n).ToArray();
        if (v.Length == n) return v;
        throw Unsupported(path, m, $"{what} has {v.Length} values for {n} spatial dimensions.");
    }

    private static string WriteConv(OnnxGraphBuilder g, Convolution conv, string x, string path)
    {
        if (conv.transposed) throw Unsupported(path, conv, "transposed convolutions are not supported.");
        if (conv.padding_mode != PaddingModes.Zeros) throw Unsupported(path, conv, $"padding mode {conv.padding_mode} is not supported (only zeros).");
        var weight = conv.weight!;
        int n = (int)weight.ndim - 2;
        long[] kernel = weight.shape.Skip(2).ToArray();
        long[] stride = Expand(conv.stride, n, 1, "stride", path, conv);
        long[] dilation = Expand(conv.dilation, n, 1, "dilation", path, conv);
        long[] begin, end;
        if (conv.padding_type == Padding.Same)
        {
            begin = new long[n];
            end = new long[n];
            for (int i = 0; i < n; i++)
            {
                long total = dilation[i] * (kernel[i] - 1);
                begin[i] = total / 2; // torch puts the odd extra element at the end
                end[i] = total - begin[i];
            }
        }
        else if (conv.padding_type == Padding.Valid)
        {
            begin = new long[n];
            end = new long[n];
        }
        else
        {
            begin = Expand(conv.padding, n, 0, "padding", path, conv);
            end = begin;
        }
        var inputs = new List<string> { x, AddTensor(g, weight, $"{path}.weight") };
        if (conv.bias is { } bias) inputs.Add(AddTensor(g, bias, $"{path}.bias"));
        return Node(g, path, "Conv", inputs,
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("dilations", dilation),
            OnnxAttribute.Ints("pads", [.. begin, .. end]),
            OnnxAttribute.Int("group", conv.groups));
    }

    private static string WriteBatchNorm(OnnxGraphBuilder g, BatchNorm bn, string x, string path)
    {
        if (bn.running_mean is null || bn.running_var is null)
            throw Unsupported(path, bn, "batch normalization without running statistics (track_running_stats=false) uses batch statistics at inference and is not supported.");
        long c = bn.num_features;
        string scale = bn.weight is { } w ? AddTensor(g, w, $"{path}.weight") : g.AddInitializer(g.UniqueName($"{path}.weight"), Enumerable.Repeat(1f, (int)c).ToArray(), c);
        string shift = bn.bias is { } b ? AddTensor(g, b, $"{path}.bias") : g.AddInitializer(g.UniqueName($"{path}.bias"), new float[c], c);
        string mean = AddTensor(g, bn.running_mean, $"{path}.running_mean");
        string var = AddTensor(g, bn.running_var, $"{path}.running_var");
        return Node(g, path, "BatchNormalization", [x, scale, shift, mean, var], OnnxAttribute.Float("epsilon", (float)bn.eps));
    }

    private static string WriteGelu(OnnxGraphBuilder g, GELU gelu, string x, string path)
    {
        if (gelu.approximate != GELU.Approximate.none) throw Unsupported(path, gelu, "only the exact (erf) GELU is supported.");
        // 0.5 * x * (1 + erf(x / sqrt(2)))
        string invSqrt2 = g.AddInitializer(g.UniqueName($"{path}.inv_sqrt2"), [(float)(1 / Math.Sqrt(2))]);
        string one = g.AddInitializer(g.UniqueName($"{path}.one"), [1f]);
        string half = g.AddInitializer(g.UniqueName($"{path}.half"), [0.5f]);
        string erf = Node(g, path, "Erf", [Node(g, path, "Mul", [x, invSqrt2])]);
        string t = Node(g, path, "Add", [erf, one]);
        return Node(g, path, "Mul", [Node(g, path, "Mul", [x, half]), t]);
    }

    private static string WriteMaxPool(OnnxGraphBuilder g, MaxPool2d mp, string x, string path)
    {
        long[] kernel = Expand(mp.kernel_size, 2, 1, "kernel_size", path, mp);
        long[] stride = mp.stride is { Length: > 0 } ? Expand(mp.stride, 2, 1, "stride", path, mp) : kernel;
        long[] pad = Expand(mp.padding, 2, 0, "padding", path, mp);
        long[] dilation = Expand(mp.dilation, 2, 1, "dilation", path, mp);
        return Node(g, path, "MaxPool", [x],
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", [.. pad, .. pad]),
            OnnxAttribute.Ints("dilations", dilation),
            OnnxAttribute.Int("ceil_mode", mp.ceil_mode ? 1 : 0));
    }

    private static string WriteAvgPool(OnnxGraphBuilder g, AvgPool2d ap, string x, string path)
    {
        if (ap.divisor_override is not null) throw Unsupported(path, ap, "divisor_override is not supported.");
        long[] kernel = Expand(ap.kernel_size, 2, 1, "kernel_size", path, ap);
        long[] stride = ap.stride is { Length: > 0 } ? Expand(ap.stride, 2, 1, "stride", path, ap) : kernel;
        long[] pad = Expand(ap.padding, 2, 0, "padding", path, ap);
        return Node(g, path, "AveragePool", [x],
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", [.. pad, .. pad]),
            OnnxAttribute.Int("count_include_pad", ap.count_include_pad ? 1 : 0),
            OnnxAttribute.Int("ceil_mode", ap.ceil_mode ? 1 : 0));
    }

    /// <summary>Reshape to shape(x)[:start] ++ [-1] ++ shape(x)[end+1:] (torch.flatten semantics).</summary>
    private static string WriteFlatten(OnnxGraphBuilder g, long start, long end, string x, string path)
    {
        if (start == 1 && end == -1) return Node(g, path, "Flatten", [x], OnnxAttribute.Int("axis", 1));
        var parts = new List<string>();
        if (start != 0) parts.Add(Node(g, path, "Shape", [x], OnnxAttribute.Int("start", 0), OnnxAttribute.Int("end", start)));
        parts.Add(g.AddInitializer(g.UniqueName($"{path}.minus_one"), [-1L], 1));
        if (end != -1) parts.Add(Node(g, path, "Shape", [x], OnnxAttribute.Int("start", end + 1)));
        string shape = Node(g, path, "Concat", parts, OnnxAttribute.Int("axis", 0));
        return Node(g, path, "Reshape", [x, shape]);
    }

    /// <summary>Reshape to shape(x)[:dim] ++ sizes ++ shape(x)[dim+1:] (torch.unflatten semantics).</summary>
    private static string WriteUnflatten(OnnxGraphBuilder g, long dim, long[] sizes, string x, string path)
    {
        var parts = new List<string>();
        if (dim != 0) parts.Add(Node(g, path, "Shape", [x], OnnxAttribute.Int("start", 0), OnnxAttribute.Int("end", dim)));
        parts.Add(g.AddInitializer(g.UniqueName($"{path}.sizes"), sizes, sizes.Length));
        if (dim != -1) parts.Add(Node(g, path, "Shape", [x], OnnxAttribute.Int("start", dim + 1)));
        string shape = Node(g, path, "Concat", parts, OnnxAttribute.Int("axis", 0));
        return Node(g, path, "Reshape", [x, shape]);
    }
}
