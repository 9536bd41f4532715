using System.Security.Cryptography;
using MLPipelines.Onnx;

namespace MLPipelines.Backbones;

/// <summary>The result of <see cref="Backbone.CompileModel"/>: one self-contained ONNX graph plus what callers need to feed it.</summary>
public sealed class CompiledBackbone
{
    private readonly byte[] _bytes;

    internal CompiledBackbone(BackboneSpec spec, byte[] bytes, string inputName, string outputName, IReadOnlyList<string> notes)
    {
        Spec = spec;
        _bytes = bytes;
        InputName = inputName;
        OutputName = outputName;
        Notes = notes;
        ModelHash = Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>The spec it was compiled from.</summary>
    public BackboneSpec Spec { get; }

    /// <summary>The serialized ONNX model.</summary>
    public ReadOnlyMemory<byte> ModelBytes => _bytes;

    /// <summary>Name of the graph input: float [N, 3 × S × S], 0-255 RGB pixels, channels first (R plane, G plane, B plane).</summary>
    public string InputName { get; }

    /// <summary>Name of the graph output: float [N, <see cref="EmbeddingSize"/>].</summary>
    public string OutputName { get; }

    /// <summary>Length of one image's pixel vector (3 × S × S).</summary>
    public int PixelCount => Spec.PixelCount;

    /// <summary>Features per image.</summary>
    public int EmbeddingSize => Spec.EmbeddingSize;

    /// <summary>Lower-case hex SHA-256 of <see cref="ModelBytes"/> (identifies the model, e.g. in embedding caches).</summary>
    public string ModelHash { get; }

    /// <summary>Notes from the dynamic-batch rewrite (changes that rely on assumptions); empty when there were none.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>A copy of the model bytes.</summary>
    /// <returns>The serialized ONNX model.</returns>
    public byte[] ToArray() => (byte[])_bytes.Clone();
}

/// <summary>
/// Compiles a pretrained backbone (<see cref="BackboneSpec"/>) into ONE ONNX graph that takes what ML.NET's
/// <c>ExtractPixels</c> gives (RGB, channels first, no interleave, 0-255, no scaling) as a flat float [N, 3 × S × S]
/// input, applies the normalisation as ONNX nodes (Reshape → [Gather for BGR] → Mul → Sub → Div → [Transpose for NHWC]),
/// runs the backbone with a dynamic batch dimension and flattens the features to [N, E].
/// </summary>
public static class Backbone
{
    /// <summary>Default name of the compiled graph's input.</summary>
    public const string DefaultInputName = "pixels";

    /// <summary>Default name of the compiled graph's output.</summary>
    public const string DefaultOutputName = "embedding";

    // Quantized operators whose output scale / zero point are inputs at these positions.
    private static readonly Dictionary<string, (int Scale, int ZeroPoint)> QuantizedProducers = new(StringComparer.Ordinal)
    {
        ["QuantizeLinear"] = (1, 2),
        ["QLinearConv"] = (6, 7),
        ["QLinearMatMul"] = (6, 7),
        ["QLinearAdd"] = (6, 7),
        ["QLinearMul"] = (6, 7),
        ["QLinearGlobalAveragePool"] = (3, 4),
        ["QLinearAveragePool"] = (3, 4),
        ["QLinearConcat"] = (0, 1),
    };

    /// <summary>Compiles <paramref name="spec"/> with input <see cref="DefaultInputName"/> and output <see cref="DefaultOutputName"/>.</summary>
    /// <param name="spec">The backbone.</param>
    /// <returns>The serialized ONNX model.</returns>
    public static byte[] Compile(BackboneSpec spec) => CompileModel(spec).ToArray();

    /// <summary>
    /// Compiles <paramref name="spec"/> into one ONNX graph (see <see cref="Backbone"/>). The original model's fixed
    /// batch size (e.g. ResNet-18's 1) is made dynamic with <see cref="OnnxModelProto.MakeBatchDynamic"/>; value shapes
    /// recorded for batch 1 are dropped and constant Reshape targets starting with the batch get -1 (the CNTK ResNet-18
    /// has no Reshape at all: Conv, BatchNormalization, Relu, Add, MaxPool, AveragePool only).
    /// </summary>
    /// <param name="spec">The backbone.</param>
    /// <param name="inputName">Name of the graph input (also the ML.NET column it reads).</param>
    /// <param name="outputName">Name of the graph output (also the ML.NET column it writes).</param>
    /// <returns>The compiled model.</returns>
    /// <exception cref="ArgumentException">The spec does not match the model (names, types, sizes); the message says what.</exception>
    /// <exception cref="NotSupportedException">The model's opset is too old for the added nodes.</exception>
    public static CompiledBackbone CompileModel(BackboneSpec spec, string inputName = DefaultInputName, string outputName = DefaultOutputName)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputName);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputName);
        if (inputName == outputName) throw new ArgumentException("The input and output names must differ.", nameof(outputName));
        spec.Validate();

        var model = OnnxModelIO.Load(spec.ModelPath);
        var g = model.Graph ?? throw new ArgumentException($"'{spec.ModelPath}' has no graph.", nameof(spec));
        long opset = model.DefaultOpsetVersion ?? 1;
        if (opset < 7) throw new NotSupportedException($"{spec.Name}: opset {opset} is older than 7 (numpy-style broadcasting), which the normalisation nodes need.");

        var initNames = new HashSet<string>(g.Initializers.Select(t => t.Name), StringComparer.Ordinal);
        var dataInputs = g.Inputs.Where(i => !initNames.Contains(i.Name)).ToList();
        var input = dataInputs.Find(i => i.Name == spec.InputName)
            ?? throw new ArgumentException($"{spec.Name}: the model has no input '{spec.InputName}'; its inputs are: {string.Join(", ", dataInputs)}.", nameof(spec));
        if (dataInputs.Count != 1) throw new ArgumentException($"{spec.Name}: the model has {dataInputs.Count} inputs ({string.Join(", ", dataInputs)}); only single-input backbones are supported.", nameof(spec));
        if (input.Type is { IsTensor: true } t && t.ElemType != OnnxElementType.Float)
            throw new ArgumentException($"{spec.Name}: input '{spec.InputName}' is {t.ElemType}, not Float.", nameof(spec));
        CheckInputShape(spec, input);

        var producers = new Dictionary<string, OnnxNodeProto>(StringComparer.Ordinal);
        foreach (var n in g.Nodes) foreach (var o in n.Outputs) if (o.Length > 0) producers[o] = n;
        string feature;
        if (spec.CutAt is null)
        {
            var output = g.Outputs.Find(o => o.Name == spec.OutputName)
                ?? throw new ArgumentException($"{spec.Name}: the model has no output '{spec.OutputName}'; its outputs are: {string.Join(", ", g.Outputs)}.", nameof(spec));
            CheckFeatureShape(spec, output);
            feature = spec.OutputName;
        }
        else
        {
            if (!producers.ContainsKey(spec.CutAt))
                throw new ArgumentException($"{spec.Name}: no node of the model produces '{spec.CutAt}' (CutAt).", nameof(spec));
            var vi = g.ValueInfo.Find(v => v.Name == spec.CutAt) ?? g.Outputs.Find(v => v.Name == spec.CutAt);
            if (vi is not null) CheckFeatureShape(spec, vi);
            feature = spec.CutAt;
        }

        var used = AllNames(g);
        foreach (var name in new[] { inputName, outputName })
        {
            if (used.Contains(name)) throw new ArgumentException($"{spec.Name}: the name '{name}' is already used inside the model; choose another input/output name.");
        }
        used.Add(inputName);
        used.Add(outputName);
        string Fresh(string prefix)
        {
            string name = prefix;
            for (int k = 1; used.Contains(name); k++) name = $"{prefix}_{k}";
            used.Add(name);
            return name;
        }

        // Dequantize a quantized cut tensor with its producer's output quantization parameters.
        var newTail = new List<OnnxNodeProto>();
        if (producers.TryGetValue(feature, out var producer) && QuantizedProducers.TryGetValue(producer.OpType, out var q))
        {
            if (opset < 10) throw new NotSupportedException($"{spec.Name}: dequantizing '{feature}' needs opset 10 or later (the model has {opset}).");
            if (producer.Inputs.Count <= q.ZeroPoint || producer.Inputs[q.Scale].Length == 0)
                throw new ArgumentException($"{spec.Name}: cannot find the output scale of {producer.OpType} '{producer.Name}' producing '{feature}'.", nameof(spec));
            string deq = Fresh(feature + "_dequantized");
            var node = new OnnxNodeProto { OpType = "DequantizeLinear", Name = Fresh("backbone_dequantize") };
            node.Inputs.AddRange([feature, producer.Inputs[q.Scale], producer.Inputs[q.ZeroPoint]]);
            node.Outputs.Add(deq);
            newTail.Add(node);
            feature = deq;
        }

        // Keep only the nodes the features need (the tail nodes are appended after pruning).
        g.Outputs.Clear();
        Prune(g, newTail.Count > 0 ? newTail[0].Inputs : [feature]);

        // Dynamic batch (while the original input is still the graph input).
        var notes = model.MakeBatchDynamic("N");

        // Replace the image input by the flat pixel input and the normalisation nodes.
        g.Inputs.Remove(input);
        g.Inputs.Insert(0, OnnxValueInfoProto.CreateTensor(inputName, OnnxElementType.Float, [-1, spec.PixelCount]));
        var head = BuildPreprocessing(spec, inputName, g, Fresh);
        g.Nodes.InsertRange(0, head);
        g.Nodes.AddRange(newTail);

        var flatten = new OnnxNodeProto { OpType = "Flatten", Name = Fresh("backbone_flatten") };
        flatten.Inputs.Add(feature);
        flatten.Outputs.Add(spec.MirrorAverage ? Fresh("backbone_features_both") : outputName);
        flatten.Attributes.Add(new OnnxAttributeProto { Name = "axis", Type = OnnxAttributeType.Int, I = 1 });
        g.Nodes.Add(flatten);
        if (spec.MirrorAverage)
            g.Nodes.AddRange(MeanOfHalves(spec, flatten.Outputs[0], outputName, g, Fresh));
        g.Outputs.Add(OnnxValueInfoProto.CreateTensor(outputName, OnnxElementType.Float, [-1, spec.EmbeddingSize]));

        // IR 3 expects every initializer to be listed as a graph input; IR 4 drops that rule and still allows opset 8.
        if (model.IrVersion < 4) model.IrVersion = 4;
        model.DocString = $"{spec.Name} feature extractor compiled by MLPipelines.Backbones from '{Path.GetFileName(spec.ModelPath)}': "
            + $"input '{inputName}' float [N,{spec.PixelCount}] 0-255 RGB channels-first, output '{outputName}' float [N,{spec.EmbeddingSize}].";
        OnnxValidator.Validate(model);
        return new CompiledBackbone(spec, model.ToBytes(), inputName, outputName, notes);
    }

    private static void CheckInputShape(BackboneSpec spec, OnnxValueInfoProto input)
    {
        if (input.Type?.Shape is not { Count: 4 } s) return;
        long?[] expected = spec.Layout == BackboneLayout.Nchw ? [3, spec.ImageSize, spec.ImageSize] : [spec.ImageSize, spec.ImageSize, 3];
        for (int i = 0; i < 3; i++)
        {
            if (s[i + 1].Value is long v && v != expected[i])
                throw new ArgumentException($"{spec.Name}: input '{input.Name}' has shape {input.Type}, which does not match {spec.Layout} with ImageSize {spec.ImageSize}.");
        }
    }

    private static void CheckFeatureShape(BackboneSpec spec, OnnxValueInfoProto vi)
    {
        if (vi.Type?.Shape is not { Count: >= 2 } s || s.Skip(1).Any(d => d.Value is null)) return;
        long size = 1;
        foreach (var d in s.Skip(1)) size *= d.Value!.Value;
        if (size != spec.EmbeddingSize)
            throw new ArgumentException($"{spec.Name}: '{vi.Name}' has shape {vi.Type}, i.e. {size} features per image, but EmbeddingSize is {spec.EmbeddingSize}.");
    }

    private static List<OnnxNodeProto> BuildPreprocessing(BackboneSpec spec, string inputName, OnnxGraphProto g, Func<string, string> fresh)
    {
        var n = spec.Normalization;
        long s = spec.ImageSize;
        var steps = new List<(string Op, List<string> Inputs, OnnxAttributeProto? Attr)>();
        string Const(string prefix, OnnxTensorProto tensor) => AddConstant(g, fresh, prefix, tensor);

        // [N, 3*S*S] → [N, 3, S, S]; 0 copies the batch dimension.
        steps.Add(("Reshape", [Const("backbone_pixel_shape", OnnxTensorProto.FromLongs("", [0, 3, s, s], 4))], null));
        if (n.SwapRgbToBgr)
        {
            var axis = new OnnxAttributeProto { Name = "axis", Type = OnnxAttributeType.Int, I = 1 };
            steps.Add(("Gather", [Const("backbone_bgr_index", OnnxTensorProto.FromLongs("", [2, 1, 0], 3))], axis));
        }
        if (n.PixelScale != 1f) steps.Add(("Mul", [Const("backbone_pixel_scale", OnnxTensorProto.FromFloats("", [n.PixelScale], 1))], null));
        if (n.MeanImage is not null)
            steps.Add(("Sub", [Const("backbone_mean_image", OnnxTensorProto.FromFloats("", n.MeanImage.ToArray(), 1, 3, s, s))], null));
        else if (n.Mean.Any(v => v != 0f))
            steps.Add(("Sub", [Const("backbone_mean", OnnxTensorProto.FromFloats("", n.Mean.ToArray(), 1, 3, 1, 1))], null));
        if (n.Std.Any(v => v != 1f)) steps.Add(("Div", [Const("backbone_std", OnnxTensorProto.FromFloats("", n.Std.ToArray(), 1, 3, 1, 1))], null));
        if (spec.Layout == BackboneLayout.Nhwc)
        {
            var perm = new OnnxAttributeProto { Name = "perm", Type = OnnxAttributeType.Ints };
            perm.Ints.AddRange([0, 2, 3, 1]);
            steps.Add(("Transpose", [], perm));
        }

        var nodes = new List<OnnxNodeProto>();
        string current = inputName;
        for (int i = 0; i < steps.Count; i++)
        {
            var (op, extra, attr) = steps[i];
            bool last = i == steps.Count - 1;
            string output = last && !(i == 0 && spec.MirrorAverage) ? spec.InputName : fresh("backbone_" + op.ToLowerInvariant());
            nodes.Add(Node(op, [current, .. extra], output, fresh("backbone_pre_" + op.ToLowerInvariant()), attr));
            current = output;
            if (i == 0 && spec.MirrorAverage)
            {
                // [N, 3, S, S] → [2N, 3, S, S]: the images, then their mirrors (columns in reverse order), before the
                // normalisation, so a mirror is normalised exactly as the mirrored photo would be.
                var reversed = new long[s];
                for (int c = 0; c < s; c++) reversed[c] = s - 1 - c;
                string mirrored = fresh("backbone_mirrored");
                nodes.Add(Node("Gather", [current, Const("backbone_mirror_columns", OnnxTensorProto.FromLongs("", reversed, s))], mirrored,
                    fresh("backbone_mirror"), IntAttribute("axis", 3)));
                string both = last ? spec.InputName : fresh("backbone_with_mirrors");
                nodes.Add(Node("Concat", [current, mirrored], both, fresh("backbone_mirror_concat"), IntAttribute("axis", 0)));
                current = both;
            }
        }
        return nodes;
    }

    /// <summary>
    /// [2N, E] features of the images then of their mirrors (<see cref="BackboneSpec.MirrorAverage"/>) → [N, E] means:
    /// Reshape to [2, N, E], Gather each half, Add, Mul 0.5 (operators every opset from 7 has, unlike Slice with steps or
    /// ReduceMean with axes as an input).
    /// </summary>
    private static List<OnnxNodeProto> MeanOfHalves(BackboneSpec spec, string both, string output, OnnxGraphProto g, Func<string, string> fresh)
    {
        string Const(string prefix, OnnxTensorProto tensor) => AddConstant(g, fresh, prefix, tensor);

        string halves = fresh("backbone_mirror_halves"), first = fresh("backbone_as_given"), second = fresh("backbone_as_mirrored"), sum = fresh("backbone_mirror_sum");
        return
        [
            Node("Reshape", [both, Const("backbone_halves_shape", OnnxTensorProto.FromLongs("", [2, -1, spec.EmbeddingSize], 3))], halves, fresh("backbone_mirror_reshape")),
            Node("Gather", [halves, Const("backbone_half_0", OnnxTensorProto.FromLongs("", [0L]))], first, fresh("backbone_first_half"), IntAttribute("axis", 0)),
            Node("Gather", [halves, Const("backbone_half_1", OnnxTensorProto.FromLongs("", [1L]))], second, fresh("backbone_second_half"), IntAttribute("axis", 0)),
            Node("Add", [first, second], sum, fresh("backbone_mirror_add")),
            Node("Mul", [sum, Const("backbone_half", OnnxTensorProto.FromFloats("", [0.5f]))], output, fresh("backbone_mirror_mean")),
        ];
    }

    private static string AddConstant(OnnxGraphProto g, Func<string, string> fresh, string prefix, OnnxTensorProto tensor)
    {
        tensor.Name = fresh(prefix);
        g.Initializers.Add(tensor);
        return tensor.Name;
    }

    private static OnnxNodeProto Node(string op, IEnumerable<string> inputs, string output, string name, OnnxAttributeProto? attribute = null)
    {
        var node = new OnnxNodeProto { OpType = op, Name = name };
        node.Inputs.AddRange(inputs);
        node.Outputs.Add(output);
        if (attribute is not null) node.Attributes.Add(attribute);
        return node;
    }

    private static OnnxAttributeProto IntAttribute(string name, long value) => new() { Name = name, Type = OnnxAttributeType.Int, I = value };

    /// <summary>Removes nodes, initializers, initializer inputs and value infos that <paramref name="targets"/> do not depend on.</summary>
    private static void Prune(OnnxGraphProto g, IEnumerable<string> targets)
    {
        var needed = new HashSet<string>(targets.Where(t => t.Length > 0), StringComparer.Ordinal);
        var allInitializers = new HashSet<string>(g.Initializers.Select(t => t.Name), StringComparer.Ordinal);
        var keep = new bool[g.Nodes.Count];
        for (int i = g.Nodes.Count - 1; i >= 0; i--)
        {
            var node = g.Nodes[i];
            if (!node.Outputs.Any(needed.Contains)) continue;
            keep[i] = true;
            foreach (var input in node.Inputs) if (input.Length > 0) needed.Add(input);
            foreach (var a in node.Attributes)
            {
                if (a.G is not null) AddSubgraphInputs(a.G, needed);
                foreach (var sg in a.Graphs) AddSubgraphInputs(sg, needed);
            }
        }
        var kept = g.Nodes.Where((_, i) => keep[i]).ToList();
        g.Nodes.Clear();
        g.Nodes.AddRange(kept);
        g.Initializers.RemoveAll(t => !needed.Contains(t.Name));
        // Older IR versions list initializers as graph inputs too: drop those no longer needed. The data input stays
        // (the caller replaces it).
        g.Inputs.RemoveAll(i => !needed.Contains(i.Name) && allInitializers.Contains(i.Name));
        var produced = new HashSet<string>(kept.SelectMany(n => n.Outputs), StringComparer.Ordinal);
        g.ValueInfo.RemoveAll(v => !produced.Contains(v.Name));
    }

    private static void AddSubgraphInputs(OnnxGraphProto sg, HashSet<string> needed)
    {
        foreach (var n in sg.Nodes)
        {
            foreach (var i in n.Inputs) if (i.Length > 0) needed.Add(i);
            foreach (var a in n.Attributes)
            {
                if (a.G is not null) AddSubgraphInputs(a.G, needed);
                foreach (var g in a.Graphs) AddSubgraphInputs(g, needed);
            }
        }
    }

    private static HashSet<string> AllNames(OnnxGraphProto g)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in g.Inputs) names.Add(i.Name);
        foreach (var o in g.Outputs) names.Add(o.Name);
        foreach (var t in g.Initializers) names.Add(t.Name);
        foreach (var v in g.ValueInfo) names.Add(v.Name);
        foreach (var n in g.Nodes)
        {
            names.UnionWith(n.Inputs);
            names.UnionWith(n.Outputs);
            if (n.Name is not null) names.Add(n.Name);
        }
        return names;
    }
}
