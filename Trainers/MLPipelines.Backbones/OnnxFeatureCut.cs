using System.IO.Compression;
using MLPipelines.Onnx;

namespace MLPipelines.Backbones;

/// <summary>The pooled-feature tensor of a classifier graph: the data input of its final fully connected layer.</summary>
/// <param name="TensorName">Name of the tensor feeding the final Gemm/MatMul (e.g. the flattened global-average-pool output).</param>
/// <param name="Size">Features per image (rows of the MatMul weight, or of the Gemm weight as transB says).</param>
/// <param name="HeadNode">Operator type and name of the final Gemm/MatMul.</param>
public sealed record PooledFeatures(string TensorName, int Size, string HeadNode);

/// <summary>
/// Cuts a classifier's ONNX graph at the input of its final fully connected layer (the pooled features), e.g. a
/// network fine-tuned by <c>m3-transfer</c> and exported inside an ML.NET model zip, so it can serve as a backbone
/// (<see cref="BackboneSpec.CutAt"/>) for embeddings and retrieval.
/// </summary>
public static class OnnxFeatureCut
{
    /// <summary>
    /// Finds the pooled features: the data input (not an initializer) of the last Gemm or MatMul, in graph order, whose
    /// weight is an initializer of rank 2.
    /// </summary>
    /// <param name="model">The classifier graph.</param>
    /// <returns>The tensor name, its feature count and the head node.</returns>
    /// <exception cref="ArgumentException">The graph has no such Gemm/MatMul.</exception>
    public static PooledFeatures FindPooledFeatures(OnnxModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var g = model.Graph ?? throw new ArgumentException("The model has no graph.", nameof(model));
        var initializers = g.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        for (int i = g.Nodes.Count - 1; i >= 0; i--)
        {
            var node = g.Nodes[i];
            if (node.OpType is not ("Gemm" or "MatMul") || node.Inputs.Count < 2) continue;
            if (!initializers.TryGetValue(node.Inputs[1], out var weight) || weight.Dims.Count != 2) continue;
            if (initializers.ContainsKey(node.Inputs[0])) continue;
            bool transB = node.OpType == "Gemm" && node.GetAttribute("transB") is { I: not 0 };
            bool transA = node.OpType == "Gemm" && node.GetAttribute("transA") is { I: not 0 };
            if (transA) continue;
            long size = transB ? weight.Dims[1] : weight.Dims[0];
            return new PooledFeatures(node.Inputs[0], checked((int)size), $"{node.OpType} '{node.Name}'");
        }
        throw new ArgumentException("The graph has no final Gemm/MatMul with an initializer weight (a fully connected head) to cut before.", nameof(model));
    }

    /// <summary>
    /// A copy of <paramref name="model"/> whose only output is the pooled-feature tensor (renamed to
    /// <paramref name="outputName"/> by an Identity node, float [N, size]); nodes and initializers the features do not
    /// need are removed.
    /// </summary>
    /// <param name="model">The classifier graph (left unchanged).</param>
    /// <param name="outputName">Name of the new output.</param>
    /// <returns>The cut model and where it was cut.</returns>
    public static (OnnxModelProto Model, PooledFeatures Features) CutAtPooledFeatures(OnnxModelProto model, string outputName = "features")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputName);
        var features = FindPooledFeatures(model);
        var copy = OnnxModelProto.Parse(model.ToBytes());
        var g = copy.Graph!;
        if (g.Nodes.Any(n => n.Outputs.Contains(outputName)) || g.Inputs.Any(i => i.Name == outputName))
            throw new ArgumentException($"The name '{outputName}' is already used in the graph.", nameof(outputName));
        RemoveMirroredBatch(copy);
        var identity = new OnnxNodeProto { OpType = "Identity", Name = outputName + "_identity" };
        identity.Inputs.Add(features.TensorName);
        identity.Outputs.Add(outputName);
        g.Nodes.Add(identity);
        g.Outputs.Clear();
        g.Outputs.Add(OnnxValueInfoProto.CreateTensor(outputName, OnnxElementType.Float, [-1, features.Size]));
        Prune(g, outputName);
        return (copy, features);
    }

    /// <summary>
    /// Reads the ONNX model embedded by ML.NET's <c>ApplyOnnxModel</c> in a saved model zip (the first
    /// <c>OnnxModel</c> entry; ML.NET stores it with a 32-bit length prefix).
    /// </summary>
    /// <param name="modelZip">An ML.NET model zip.</param>
    /// <returns>The ONNX bytes.</returns>
    /// <exception cref="InvalidDataException">The zip holds no ONNX model.</exception>
    public static byte[] ReadOnnxFromModelZip(string modelZip)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelZip);
        using var zip = ZipFile.OpenRead(modelZip);
        var entry = zip.Entries.Where(e => e.Name == "OnnxModel").OrderBy(e => e.FullName, StringComparer.Ordinal).FirstOrDefault()
            ?? throw new InvalidDataException($"'{modelZip}' holds no ONNX model (no ApplyOnnxModel transformer).");
        using var stream = entry.Open();
        using var reader = new BinaryReader(stream);
        int length = reader.ReadInt32();
        if (length <= 0 || length != entry.Length - 4)
            throw new InvalidDataException($"'{modelZip}': entry {entry.FullName} has an unexpected layout (length prefix {length}, entry {entry.Length} bytes).");
        return reader.ReadBytes(length);
    }

    /// <summary>
    /// A model compiled with test-time mirroring (TorchTrainerOptions.TestTimeHorizontalFlip) runs its network on the
    /// batch Concat(x, mirrored x); the embedding of an image is that of the image as given, so this rewires the
    /// network to read x (in place; the Slice/Concat nodes are left for pruning). Other graphs are unchanged.
    /// </summary>
    /// <param name="model">The model to edit.</param>
    public static void RemoveMirroredBatch(OnnxModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var g = model.Graph ?? throw new ArgumentException("The model has no graph.", nameof(model));
        var producers = g.Nodes.SelectMany(n => n.Outputs.Select(o => (Output: o, Node: n))).ToDictionary(p => p.Output, p => p.Node, StringComparer.Ordinal);
        foreach (var concat in g.Nodes.Where(n => n.OpType == "Concat" && n.Inputs.Count == 2 && n.Outputs.Count == 1).ToList())
        {
            if (!concat.Outputs[0].StartsWith("tta_batch", StringComparison.Ordinal)
                || !producers.TryGetValue(concat.Inputs[1], out var slice) || slice.OpType != "Slice")
                continue;
            string batch = concat.Outputs[0], original = concat.Inputs[0];
            foreach (var node in g.Nodes)
            {
                for (int i = 0; i < node.Inputs.Count; i++)
                {
                    if (node.Inputs[i] == batch)
                        node.Inputs[i] = original;
                }
            }
        }
    }

    /// <summary>Renames a graph input and every node input that reads it (in place).</summary>
    /// <param name="model">The model to edit.</param>
    /// <param name="from">The current input name.</param>
    /// <param name="to">The new name.</param>
    /// <exception cref="ArgumentException">The graph has no input <paramref name="from"/>.</exception>
    public static void RenameInput(OnnxModelProto model, string from, string to)
    {
        ArgumentNullException.ThrowIfNull(model);
        var g = model.Graph ?? throw new ArgumentException("The model has no graph.", nameof(model));
        var input = g.Inputs.Find(i => i.Name == from)
            ?? throw new ArgumentException($"The graph has no input '{from}' (inputs: {string.Join(", ", g.Inputs.Select(i => i.Name))}).", nameof(from));
        input.Name = to;
        foreach (var node in g.Nodes)
        {
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                if (node.Inputs[i] == from)
                    node.Inputs[i] = to;
            }
        }
    }

    private static void Prune(OnnxGraphProto g, string output)
    {
        var needed = new HashSet<string>(StringComparer.Ordinal) { output };
        var keep = new List<OnnxNodeProto>();
        for (int i = g.Nodes.Count - 1; i >= 0; i--)
        {
            var node = g.Nodes[i];
            if (!node.Outputs.Any(needed.Contains)) continue;
            keep.Add(node);
            foreach (var input in node.Inputs) if (input.Length > 0) needed.Add(input);
        }
        keep.Reverse();
        g.Nodes.Clear();
        g.Nodes.AddRange(keep);
        g.Initializers.RemoveAll(t => !needed.Contains(t.Name));
        g.ValueInfo.RemoveAll(v => !needed.Contains(v.Name));
        g.Inputs.RemoveAll(v => !needed.Contains(v.Name));
    }
}
