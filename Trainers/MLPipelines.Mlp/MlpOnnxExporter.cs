using MLPipelines.Onnx;

namespace MLPipelines.Mlp;

/// <summary>Compiles a trained <see cref="MlpNetwork"/> to ONNX nodes (MatMul + Add per layer, then the hidden activation).</summary>
public static class MlpOnnxExporter
{
    /// <summary>
    /// Appends the network to <paramref name="graph"/>: reads the float tensor <paramref name="input"/> of shape
    /// [N, InputSize] and returns the name of the logits tensor, [N, 1] for a sigmoid output or [N, K] for softmax.
    /// Dropout is the identity at inference and emits no node.
    /// </summary>
    /// <param name="graph">The graph being built.</param>
    /// <param name="network">The trained network.</param>
    /// <param name="input">Name of the input tensor.</param>
    /// <param name="prefix">Prefix for initializer and node names.</param>
    public static string WriteLogits(OnnxGraphBuilder graph, MlpNetwork network, string input, string prefix = "mlp")
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(network);
        var x = input;
        for (var i = 0; i < network.Layers.Count; i++)
        {
            var layer = network.Layers[i];
            var w = graph.AddInitializer(graph.UniqueName($"{prefix}_w{i}"), layer.Weights, layer.Inputs, layer.Outputs);
            var b = graph.AddInitializer(graph.UniqueName($"{prefix}_b{i}"), layer.Bias, layer.Outputs);
            var product = graph.AddNode("MatMul", [x, w], graph.UniqueName($"{prefix}_matmul{i}"));
            x = graph.AddNode("Add", [product, b], graph.UniqueName($"{prefix}_dense{i}"));
            if (i < network.Layers.Count - 1)
                x = graph.AddNode(OpType(network.Architecture.HiddenActivation), [x], graph.UniqueName($"{prefix}_act{i}"));
        }
        return x;
    }

    /// <summary>
    /// A standalone ONNX model of the network: input <c>features</c> [N, InputSize]; outputs <c>logits</c> and
    /// <c>probabilities</c> (sigmoid of the single logit for binary networks, softmax over classes otherwise).
    /// </summary>
    /// <param name="network">The trained network.</param>
    public static byte[] Export(MlpNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var g = new OnnxGraphBuilder("mlpipelines_mlp");
        var input = g.AddInput("features", OnnxElementType.Float, -1, network.Architecture.InputSize);
        var logits = WriteLogits(g, network, input);
        var width = network.Layers[^1].Outputs;
        g.AddNode("Identity", [logits], "logits");
        g.AddOutput("logits", OnnxElementType.Float, -1, width);
        if (network.Architecture.Output == OutputKind.SigmoidBinary)
            g.AddNode("Sigmoid", [logits], "probabilities");
        else
            g.AddNode("Softmax", [logits], "probabilities", OnnxAttribute.Int("axis", 1));
        g.AddOutput("probabilities", OnnxElementType.Float, -1, width);
        return g.ToBytes();
    }

    private static string OpType(Activation activation) => activation switch
    {
        Activation.Sigmoid => "Sigmoid",
        Activation.Relu => "Relu",
        Activation.Tanh => "Tanh",
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}
