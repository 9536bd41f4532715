using System.Collections;
using System.Globalization;
using System.Text;
using MLPipelines.Onnx;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Transfer;

/// <summary>How <see cref="PretrainedWeights.LoadTorchvisionWeights"/> matched a state dict to a module.</summary>
/// <param name="Loaded">Entries copied into the module.</param>
/// <param name="SkippedHead">Entries of the head left out (the file's and the module's), when the head was not loaded.</param>
/// <param name="IgnoredBookkeeping">Entries such as <c>num_batches_tracked</c> present on one side only (they do not affect the computation).</param>
public sealed record WeightLoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> SkippedHead, IReadOnlyList<string> IgnoredBookkeeping);

/// <summary>
/// Pretrained weights for the transfer-learning backbones: ML.NET's ResNet-18 ONNX model
/// (Microsoft.ML.DnnImageFeaturizer.ResNet18) and torchvision state dicts (<c>.pth</c> / <c>.pt</c> pickles through
/// TorchSharp.PyBridge, or <c>.safetensors</c>).
/// </summary>
public static class PretrainedWeights
{
    /// <summary>The file name of ML.NET's pretrained ResNet-18 inside its NuGet package (tools/DnnImageModels/ResNet18Onnx).</summary>
    public const string MlNetResNet18FileName = "ResNet18.onnx";

    /// <summary>
    /// Creates <see cref="ResNet.MlNetResNet18"/> (blocks [2, 2, 2, 3]) with ML.NET's pretrained ImageNet weights, a new
    /// head of <paramref name="numClasses"/> outputs and <see cref="InputNormalization.MlNetResNet18"/>, so it takes RGB
    /// pixels / 255 like the other networks of the project.
    /// </summary>
    /// <param name="resNet18OnnxPath">Path of ResNet18.onnx.</param>
    /// <param name="numClasses">Outputs of the new head.</param>
    /// <param name="dropout">Dropout before the head (training only).</param>
    /// <returns>The network.</returns>
    public static ResNet CreateMlNetResNet18(string resNet18OnnxPath, int numClasses, double dropout = 0)
    {
        var net = ResNet.MlNetResNet18(numClasses);
        try
        {
            LoadMlNetResNet18(net, resNet18OnnxPath);
            net.ReplaceHead(numClasses, dropout);
            net.Normalization = InputNormalization.MlNetResNet18;
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies the convolution and batch-normalisation initialisers of ML.NET's ResNet18.onnx (a CNTK 2.6 export, opset 8)
    /// into <paramref name="net"/>, which must have the layout of <see cref="ResNet.MlNetResNet18"/> (basic blocks
    /// [2, 2, 2, 3]); the head is left alone (the ONNX model has none). The convolutions are matched by graph order within
    /// their kind (the 7x7 stem, the 3x3 main-path convolutions, the 1x1 projections: CNTK writes a stage's projection
    /// before its first block), each batch normalisation is the node consuming its convolution's output, and every shape
    /// is checked. The stem's input channels are reversed, because the original network reads BGR and the project's
    /// pipelines feed RGB. Batch normalisation: scale, bias, running mean and variance; the file's epsilon (1e-5) must
    /// match the module's and only spatial batch normalisation is accepted (CNTK's momentum attribute only matters for
    /// training and is not copied). The input convention is not changed: set <see cref="TorchBackbone.Normalization"/> to
    /// <see cref="InputNormalization.MlNetResNet18"/> for [0, 1] RGB input.
    /// </summary>
    /// <param name="net">The target network.</param>
    /// <param name="resNet18OnnxPath">Path of ResNet18.onnx.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The graph does not have the expected structure or shapes.</exception>
    public static void LoadMlNetResNet18(ResNet net, string resNet18OnnxPath)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentException.ThrowIfNullOrEmpty(resNet18OnnxPath);
        if (!File.Exists(resNet18OnnxPath))
            throw new FileNotFoundException($"ML.NET's ResNet-18 model was not found at '{resNet18OnnxPath}' (NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18, tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx).", resNet18OnnxPath);
        if (net.Bottleneck)
            throw new ArgumentException("ML.NET's ResNet-18 has basic blocks; the target network has bottlenecks.", nameof(net));
        var graph = OnnxModelIO.Load(resNet18OnnxPath).Graph ?? throw new InvalidDataException($"'{resNet18OnnxPath}' has no graph.");
        var consumers = new Dictionary<string, List<OnnxNodeProto>>();
        foreach (var node in graph.Nodes)
            foreach (var input in node.Inputs)
                (consumers.TryGetValue(input, out var l) ? l : consumers[input] = []).Add(node);

        var stem = new List<(OnnxNodeProto Conv, OnnxNodeProto Bn)>();
        var main = new List<(OnnxNodeProto Conv, OnnxNodeProto Bn)>();
        var projections = new List<(OnnxNodeProto Conv, OnnxNodeProto Bn)>();
        foreach (var conv in graph.Nodes.Where(n => n.OpType == "Conv"))
        {
            if (conv.Inputs.Count > 2 && !string.IsNullOrEmpty(conv.Inputs[2]))
                throw new InvalidDataException($"Convolution {conv.Outputs[0]} has a bias; ResNet convolutions have none.");
            var bn = consumers.GetValueOrDefault(conv.Outputs[0])?.SingleOrDefault(n => n.OpType == "BatchNormalization")
                ?? throw new InvalidDataException($"Convolution {conv.Outputs[0]} is not followed by a BatchNormalization node.");
            var kernel = conv.GetAttribute("kernel_shape")?.Ints ?? [];
            long k = kernel.Count == 2 && kernel[0] == kernel[1] ? kernel[0] : -1;
            (k switch
            {
                7 => stem,
                3 => main,
                1 => projections,
                _ => throw new InvalidDataException($"Convolution {conv.Outputs[0]} has an unexpected kernel [{string.Join(",", kernel)}]."),
            }).Add((conv, bn));
        }

        var layers = net.Layers;
        int expectedMain = 2 * layers.Sum();
        if (stem.Count != 1 || main.Count != expectedMain || projections.Count != 3)
            throw new InvalidDataException(
                $"'{resNet18OnnxPath}' has {stem.Count} 7x7, {main.Count} 3x3 and {projections.Count} 1x1 convolutions; a ResNet with basic blocks " +
                $"[{string.Join(", ", layers)}] needs 1, {expectedMain} and 3 (ML.NET's ResNet-18 fits ResNet.MlNetResNet18, blocks [2, 2, 2, 3]).");

        var targets = net.state_dict();
        var pairs = new List<((OnnxNodeProto Conv, OnnxNodeProto Bn) Source, string Conv, string Bn)> { (stem[0], "conv1", "bn1") };
        int m = 0;
        for (int l = 0; l < 4; l++)
        {
            for (int b = 0; b < layers[l]; b++)
            {
                string block = $"layer{l + 1}.{b}.";
                pairs.Add((main[m++], block + "conv1", block + "bn1"));
                pairs.Add((main[m++], block + "conv2", block + "bn2"));
            }
            if (l > 0)
                pairs.Add((projections[l - 1], $"layer{l + 1}.0.downsample.0", $"layer{l + 1}.0.downsample.1"));
        }

        using var noGrad = torch.no_grad();
        foreach (var ((conv, bn), convName, bnName) in pairs)
        {
            var weight = Initializer(graph, conv.Inputs[1]);
            if (convName == "conv1")
                weight = ReverseInputChannels(weight);
            Copy(targets, convName + ".weight", weight);
            var spatial = bn.GetAttribute("spatial");
            if (spatial is not null && spatial.I != 1)
                throw new InvalidDataException($"BatchNormalization {bn.Outputs[0]} is not spatial (spatial={spatial.I}).");
            double eps = bn.GetAttribute("epsilon")?.F ?? 1e-5;
            var module = net.named_modules().First(x => x.name == bnName).module as TorchSharp.Modules.BatchNorm2d
                ?? throw new InvalidDataException($"{bnName} is not a BatchNorm2d.");
            if (Math.Abs(module.eps - eps) > 1e-9)
                throw new InvalidDataException($"BatchNormalization {bn.Outputs[0]} has epsilon {eps}, {bnName} has {module.eps}.");
            Copy(targets, bnName + ".weight", Initializer(graph, bn.Inputs[1]));
            Copy(targets, bnName + ".bias", Initializer(graph, bn.Inputs[2]));
            Copy(targets, bnName + ".running_mean", Initializer(graph, bn.Inputs[3]));
            Copy(targets, bnName + ".running_var", Initializer(graph, bn.Inputs[4]));
        }
    }

    /// <summary>
    /// Loads a torchvision-style state dict (a PyTorch pickle such as <c>resnet50-0676ba61.pth</c>, written by
    /// <c>torch.save(model.state_dict(), path)</c>, read with TorchSharp.PyBridge; or a <c>.safetensors</c> file) into
    /// <paramref name="module"/> by name. Every name and shape is checked first and nothing is copied unless all match;
    /// the error lists the missing, unexpected and mismatched keys. <c>num_batches_tracked</c> entries present on one
    /// side only are ignored.
    /// </summary>
    /// <param name="module">The target, e.g. <see cref="ResNet.ResNet50"/> or <see cref="DenseNet.DenseNet121"/>.</param>
    /// <param name="path">The state-dict file.</param>
    /// <param name="loadHead">
    /// Whether to load the head too (<c>fc.*</c> / <c>classifier.*</c> for a <see cref="TorchBackbone"/>). False, for a new
    /// head of another class count, leaves the module's head alone and ignores the file's.
    /// </param>
    /// <returns>What was loaded and skipped.</returns>
    /// <exception cref="InvalidDataException">Names or shapes do not match.</exception>
    public static WeightLoadReport LoadTorchvisionWeights(nn.Module module, string path, bool loadHead = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"State-dict file '{path}' was not found.", path);
        var source = ReadStateDict(path);
        try
        {
            return LoadStateDict(module, source, loadHead, path);
        }
        finally
        {
            foreach (var t in source.Values)
                t.Dispose();
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="module"/> by name with the checks of
    /// <see cref="LoadTorchvisionWeights"/>.
    /// </summary>
    /// <param name="module">The target.</param>
    /// <param name="source">Name to tensor (not disposed).</param>
    /// <param name="loadHead">Whether the head is loaded too (see <see cref="LoadTorchvisionWeights"/>).</param>
    /// <param name="sourceName">Used in error messages.</param>
    /// <returns>What was loaded and skipped.</returns>
    public static WeightLoadReport LoadStateDict(nn.Module module, IReadOnlyDictionary<string, Tensor> source, bool loadHead = false, string sourceName = "the state dict")
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(source);
        var target = module.state_dict();
        string? head = module is TorchBackbone backbone && !loadHead ? backbone.HeadName + "." : null;
        bool IsHead(string k) => head is not null && k.StartsWith(head, StringComparison.Ordinal);
        static bool IsBookkeeping(string k) => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

        var skippedHead = source.Keys.Concat(target.Keys).Where(IsHead).Distinct().Order(StringComparer.Ordinal).ToList();
        var missing = target.Keys.Where(k => !IsHead(k) && !source.ContainsKey(k) && !IsBookkeeping(k)).ToList();
        var unexpected = source.Keys.Where(k => !IsHead(k) && !target.ContainsKey(k) && !IsBookkeeping(k)).Order(StringComparer.Ordinal).ToList();
        var ignored = source.Keys.Concat(target.Keys).Where(k => IsBookkeeping(k) && !(source.ContainsKey(k) && target.ContainsKey(k))).Distinct().ToList();
        var mismatched = target.Keys.Where(k => !IsHead(k) && source.ContainsKey(k) && !source[k].shape.SequenceEqual(target[k].shape))
            .Select(k => $"{k}: file [{string.Join(", ", source[k].shape)}], module [{string.Join(", ", target[k].shape)}]").ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{sourceName} does not fit {module.GetType().Name}: ");
            sb.Append(CultureInfo.InvariantCulture, $"{missing.Count} missing, {unexpected.Count} unexpected, {mismatched.Count} with another shape.");
            void List(string title, List<string> keys)
            {
                if (keys.Count == 0) return;
                sb.Append('\n').Append(title).Append(": ").Append(string.Join(", ", keys.Take(25)));
                if (keys.Count > 25) sb.Append(CultureInfo.InvariantCulture, $", ... ({keys.Count - 25} more)");
            }
            List("Missing keys (in the module, not in the file)", missing);
            List("Unexpected keys (in the file, not in the module)", unexpected);
            List("Shape mismatches", mismatched);
            if (head is null && module is TorchBackbone)
                sb.Append("\nTo use a file with another class count, load without the head (loadHead: false).");
            throw new InvalidDataException(sb.ToString());
        }
        var loaded = new List<string>();
        using var noGrad = torch.no_grad();
        foreach (var (k, t) in target)
        {
            if (IsHead(k) || !source.TryGetValue(k, out var s))
                continue;
            t.copy_(s);
            loaded.Add(k);
        }
        return new WeightLoadReport(loaded, skippedHead, ignored);
    }

    /// <summary>Reads a state dict: <c>.safetensors</c> through TorchSharp.PyBridge's reader, anything else as a PyTorch pickle (<c>torch.save</c>).</summary>
    /// <param name="path">The file.</param>
    /// <returns>Name to tensor (CPU); the caller disposes the tensors.</returns>
    public static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            return Safetensors.LoadStateDict(path);
        Hashtable table = PyTorchUnpickler.UnpickleStateDict(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in table)
        {
            if (e.Key is string key && e.Value is Tensor t)
                result[key] = t;
            else
                throw new InvalidDataException($"'{path}' holds an entry that is not a named tensor ({e.Key}): save model.state_dict(), not the model.");
        }
        return result;
    }

    /// <summary>Writes <paramref name="module"/>'s state dict as a PyTorch pickle that <c>torch.load</c> reads (TorchSharp.PyBridge).</summary>
    /// <param name="module">The module.</param>
    /// <param name="path">The file to write.</param>
    public static void SaveTorchStateDict(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        module.save_py(path);
    }

    private static float[] Initializer(OnnxGraphProto graph, string name, out long[] shape)
    {
        var t = graph.FindInitializer(name) ?? throw new InvalidDataException($"Initializer '{name}' is missing.");
        shape = t.Dims.ToArray();
        return t.GetFloats();
    }

    private static (float[] Data, long[] Shape) Initializer(OnnxGraphProto graph, string name)
    {
        var data = Initializer(graph, name, out var shape);
        return (data, shape);
    }

    private static (float[] Data, long[] Shape) ReverseInputChannels((float[] Data, long[] Shape) w)
    {
        var (data, shape) = w;
        long outC = shape[0], inC = shape[1], k = shape[2] * shape[3];
        var result = new float[data.Length];
        for (long o = 0; o < outC; o++)
            for (long c = 0; c < inC; c++)
                Array.Copy(data, (o * inC + c) * k, result, (o * inC + (inC - 1 - c)) * k, k);
        return (result, shape);
    }

    private static void Copy(Dictionary<string, Tensor> targets, string name, (float[] Data, long[] Shape) source)
    {
        if (!targets.TryGetValue(name, out var target))
            throw new InvalidDataException($"The network has no '{name}'.");
        if (!target.shape.SequenceEqual(source.Shape))
            throw new InvalidDataException($"{name}: the ONNX initializer has shape [{string.Join(", ", source.Shape)}], the network [{string.Join(", ", target.shape)}].");
        using var t = torch.tensor(source.Data, source.Shape, dtype: target.dtype);
        target.copy_(t);
    }
}
