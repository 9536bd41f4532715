namespace MLPipelines.Onnx;

public sealed partial class OnnxModelProto
{
    /// <summary>A deep copy of this model (by serializing and parsing it).</summary>
    public OnnxModelProto Clone() => Parse(ToBytes());

    /// <summary>
    /// Returns a copy of this model whose batch dimension is dynamic; see <see cref="MakeBatchDynamic"/>.
    /// </summary>
    public OnnxModelProto WithDynamicBatch(string batchDimName = "N")
    {
        var copy = Clone();
        copy.MakeBatchDynamic(batchDimName);
        return copy;
    }

    /// <summary>
    /// Rewrites this model in place so that the first dimension of every graph input and output is the symbolic
    /// dimension <paramref name="batchDimName"/>. Graph inputs that are initializers (older IR versions list them as
    /// inputs) are left alone. When an input or output had a fixed first dimension B (typically 1):
    /// <list type="bullet">
    /// <item>value_info entries whose first dimension is B lose their shape (the element type stays), so that no stale
    /// shape conflicts with the new batch; ONNX Runtime re-infers them.</item>
    /// <item>A Reshape whose target shape is a constant (initializer or Constant node) starting with B gets -1 in
    /// that position when no other entry is -1 (always safe if the reshape keeps the batch). Otherwise it gets 0
    /// (copy the data input's first dimension), which assumes dim 0 of the reshaped tensor is the batch, and a
    /// note is returned; with allowzero=1 the shape is left unchanged and a note is returned.
    /// A shared shape tensor is copied rather than changed for its other users.</item>
    /// </list>
    /// Not handled (returned as notes where detected): other ops with hard-coded batch sizes such as Expand, Tile,
    /// ConstantOfShape or Slice with constant bounds on axis 0.
    /// </summary>
    /// <returns>Notes about changes that rely on assumptions or could not be made.</returns>
    public IReadOnlyList<string> MakeBatchDynamic(string batchDimName = "N")
    {
        ArgumentException.ThrowIfNullOrEmpty(batchDimName);
        var graph = Graph ?? throw new InvalidOperationException("The model has no graph.");
        var notes = new List<string>();
        var initNames = new HashSet<string>(graph.Initializers.Select(t => t.Name), StringComparer.Ordinal);
        var oldBatch = new HashSet<long>();

        foreach (var vi in graph.Inputs.Where(i => !initNames.Contains(i.Name)).Concat(graph.Outputs))
        {
            if (vi.Type is not { IsTensor: true, Shape: { Count: > 0 } shape }) continue;
            if (shape[0].Value is long fixedValue) oldBatch.Add(fixedValue);
            shape[0] = new OnnxDimension { Param = batchDimName };
        }
        if (oldBatch.Count == 0) return notes;

        foreach (var vi in graph.ValueInfo)
        {
            if (vi.Type is { IsTensor: true, Shape: { Count: > 0 } shape } && shape[0].Value is long v && oldBatch.Contains(v))
            {
                vi.Type.Shape = null;
            }
        }

        var useCount = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
        {
            foreach (var i in n.Inputs) useCount[i] = useCount.GetValueOrDefault(i) + 1;
        }
        var constantNodes = graph.Nodes
            .Where(n => n.OpType == "Constant" && IsDefaultDomain(n.Domain) && n.Outputs.Count == 1 && n.GetAttribute("value")?.T is not null)
            .ToDictionary(n => n.Outputs[0], n => n.GetAttribute("value")!.T!, StringComparer.Ordinal);

        foreach (var node in graph.Nodes)
        {
            if (!IsDefaultDomain(node.Domain)) continue;
            if (node.OpType is "Expand" or "Tile" or "ConstantOfShape")
            {
                notes.Add($"Node '{node.Name}' ({node.OpType}) may use a hard-coded batch size; it was not changed.");
                continue;
            }
            if (node.OpType != "Reshape" || node.Inputs.Count < 2 || node.Inputs[1].Length == 0) continue;
            string shapeName = node.Inputs[1];
            var tensor = graph.FindInitializer(shapeName);
            bool isInitializer = tensor is not null;
            if (tensor is null && !constantNodes.TryGetValue(shapeName, out tensor)) continue; // computed at run time
            if (tensor.DataType != OnnxElementType.Int64) continue;
            long[] values = tensor.GetLongs();
            if (values.Length == 0 || !oldBatch.Contains(values[0])) continue;

            if (!values.Skip(1).Contains(-1))
            {
                values[0] = -1;
            }
            else if (node.GetAttribute("allowzero")?.I != 1)
            {
                values[0] = 0;
                notes.Add($"Reshape '{node.Name}': target shape already has -1, so dim 0 was set to 0 (copy the input's dim 0), assuming it is the batch.");
            }
            else
            {
                notes.Add($"Reshape '{node.Name}': allowzero=1 and the target shape already has -1; the fixed batch {values[0]} was left unchanged.");
                continue;
            }

            if (useCount.GetValueOrDefault(shapeName) <= 1 && (isInitializer || !graph.Outputs.Any(o => o.Name == shapeName)))
            {
                tensor.SetLongs(values);
            }
            else
            {
                string newName = FreshName(graph, shapeName + "_dynbatch");
                graph.Initializers.Add(OnnxTensorProto.FromLongs(newName, values, values.Length));
                if (IrVersion is > 0 and < 4)
                {
                    graph.Inputs.Add(OnnxValueInfoProto.CreateTensor(newName, OnnxElementType.Int64, [values.Length]));
                }
                node.Inputs[1] = newName;
            }
        }
        return notes;
    }

    private static bool IsDefaultDomain(string? domain) => string.IsNullOrEmpty(domain) || domain == "ai.onnx";

    private static string FreshName(OnnxGraphProto graph, string baseName)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in graph.Inputs) used.Add(i.Name);
        foreach (var t in graph.Initializers) used.Add(t.Name);
        foreach (var n in graph.Nodes) used.UnionWith(n.Outputs);
        string name = baseName;
        for (int k = 1; used.Contains(name); k++) name = $"{baseName}_{k}";
        return name;
    }
}
