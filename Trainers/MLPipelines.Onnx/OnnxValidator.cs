namespace MLPipelines.Onnx;

/// <summary>
/// Structural checks of an ONNX graph: every node input must be a graph input, an initializer or the output of an
/// earlier node (nodes in topological order); no value may be produced twice; every graph output must be produced.
/// Subgraphs (If/Loop/Scan attributes) are checked too, with the values visible at their node as outer scope.
/// </summary>
public static class OnnxValidator
{
    /// <summary>Validates the model's graph; throws <see cref="InvalidOperationException"/> listing every problem.</summary>
    public static void Validate(OnnxModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Validate(model.Graph ?? throw new InvalidOperationException("The model has no graph."));
    }

    /// <summary>Validates a graph; throws <see cref="InvalidOperationException"/> listing every problem.</summary>
    public static void Validate(OnnxGraphProto graph)
    {
        var errors = FindErrors(graph);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid ONNX graph '{graph.Name}':{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors));
        }
    }

    /// <summary>Returns a description of every problem found (empty when the graph is valid).</summary>
    public static IReadOnlyList<string> FindErrors(OnnxGraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var errors = new List<string>();
        Check(graph, new HashSet<string>(StringComparer.Ordinal), errors, "");
        return errors;
    }

    private static void Check(OnnxGraphProto graph, HashSet<string> outer, List<string> errors, string path)
    {
        var available = new HashSet<string>(outer, StringComparer.Ordinal);
        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in graph.Inputs) local.Add(i.Name);
        foreach (var t in graph.Initializers) local.Add(t.Name);
        available.UnionWith(local);

        for (int n = 0; n < graph.Nodes.Count; n++)
        {
            var node = graph.Nodes[n];
            string label = $"{path}node #{n} '{node.Name}' ({node.OpType})";
            foreach (var input in node.Inputs)
            {
                if (input.Length == 0) continue; // omitted optional input
                if (!available.Contains(input))
                {
                    errors.Add($"{label}: input '{input}' is not produced by a graph input, an initializer or an earlier node output.");
                }
            }
            foreach (var attr in node.Attributes)
            {
                if (attr.G is not null) Check(attr.G, available, errors, $"{label}.{attr.Name}: ");
                foreach (var g in attr.Graphs) Check(g, available, errors, $"{label}.{attr.Name}: ");
            }
            foreach (var output in node.Outputs)
            {
                if (output.Length == 0) continue;
                if (!local.Add(output)) errors.Add($"{label}: output '{output}' is already produced by a graph input, initializer or earlier node.");
                available.Add(output);
            }
        }
        foreach (var o in graph.Outputs)
        {
            if (!available.Contains(o.Name)) errors.Add($"{path}graph output '{o.Name}' is not produced by any node, input or initializer.");
        }
    }
}
