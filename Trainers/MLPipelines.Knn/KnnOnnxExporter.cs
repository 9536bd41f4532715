using MLPipelines.Onnx;

namespace MLPipelines.Knn;

/// <summary>Writes the ONNX body of a KNN classifier: input [B, D] → vote shares [B, C].</summary>
/// <remarks>
/// scores = Gemm(x, R, bias, alpha, transB) with R the reference matrix [N, D] (an initializer) and
/// bias = ‖r‖², alpha = −2 (Euclidean) or, on unit vectors, bias = 1 and alpha = −1 (cosine): the same ranking
/// values as <see cref="KnnIndex"/>. TopK(largest = 0, sorted) picks k (ONNX Runtime returns the lower index
/// first on equal values, like the engine), distances are finished on the k winners only, Gather reads their
/// labels, Equal against the class range gives one-hot votes (times 1 / (d + ε) for distance weighting), and
/// ReduceSum / Div turn the votes into shares. Also exposes <c>neighbor_indices</c> (int64 [B, k]) and
/// <c>neighbor_distances</c> (float [B, k]) for standalone use of the model.
/// </remarks>
public static class KnnOnnxExporter
{
    /// <summary>Name of the graph output holding the k nearest reference indices (int64 [B, k]).</summary>
    public const string NeighborIndices = "neighbor_indices";

    /// <summary>Name of the graph output holding the distances to the k nearest references (float [B, k]).</summary>
    public const string NeighborDistances = "neighbor_distances";

    /// <summary>Adds the KNN classifier to <paramref name="g"/>, reading <paramref name="input"/> [B, D].</summary>
    /// <param name="g">The graph being built.</param>
    /// <param name="index">The fitted index; its references, labels and metric become initializers and nodes.</param>
    /// <param name="input">Name of the float [B, D] feature tensor.</param>
    /// <param name="k">Neighbours per query (at most <see cref="KnnIndex.Count"/>).</param>
    /// <param name="weighting">How the k neighbours' votes are weighted.</param>
    /// <returns>Name of the float [B, C] vote-share tensor.</returns>
    public static string WriteShares(OnnxGraphBuilder g, KnnIndex index, string input, int k, KnnWeighting weighting)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, index.Count);
        int n = index.Count, d = index.Dimension, c = index.ClassCount;
        bool cosine = index.Metric == KnnMetric.Cosine;
        var references = g.AddInitializer(g.UniqueName("knn_references"), index.GetReferences(), n, d);
        var bias = g.AddInitializer(g.UniqueName("knn_reference_bias"), index.ReferenceBias, n);
        var labels = g.AddInitializer(g.UniqueName("knn_labels"), index.Labels.Select(l => (long)l).ToArray(), n);
        var classes = g.AddInitializer(g.UniqueName("knn_classes"), Enumerable.Range(0, c).Select(i => (long)i).ToArray(), c);
        var kTensor = g.AddInitializer(g.UniqueName("knn_k"), [(long)k], 1);
        var zero = g.AddInitializer(g.UniqueName("knn_zero"), [0f], 1);
        var axis1 = g.AddInitializer(g.UniqueName("knn_axis1"), [1L], 1);
        var axis2 = g.AddInitializer(g.UniqueName("knn_axis2"), [2L], 1);

        var squared = g.AddNode("ReduceSumSquare", [input], g.UniqueName("knn_query_sq"),
            OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 1));
        var x = input;
        if (cosine)
        {
            var minNorm = g.AddInitializer(g.UniqueName("knn_min_norm"), [KnnIndex.MinNorm], 1);
            var norm = g.AddNode("Max", [g.AddNode("Sqrt", [squared], g.UniqueName("knn_query_norm")), minNorm], g.UniqueName("knn_query_norm_safe"));
            x = g.AddNode("Div", [input, norm], g.UniqueName("knn_query_unit"));
        }

        var scores = g.AddNode("Gemm", [x, references, bias], g.UniqueName("knn_scores"),
            OnnxAttribute.Float("alpha", cosine ? -1f : -2f), OnnxAttribute.Float("beta", 1f), OnnxAttribute.Int("transB", 1));
        var values = g.UniqueName("knn_top_scores");
        var indices = g.UniqueName("knn_top_indices");
        g.AddNode("TopK", [scores, kTensor], [values, indices],
            OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("largest", 0), OnnxAttribute.Int("sorted", 1));
        var distances = cosine
            ? g.AddNode("Max", [values, zero], g.UniqueName("knn_distances"))
            : g.AddNode("Sqrt", [g.AddNode("Max", [g.AddNode("Add", [values, squared], g.UniqueName("knn_sq_distances")), zero], g.UniqueName("knn_sq_distances_clamped"))],
                g.UniqueName("knn_distances"));
        g.AddNode("Identity", [indices], NeighborIndices);
        g.AddOutput(NeighborIndices, OnnxElementType.Int64, -1, k);
        g.AddNode("Identity", [distances], NeighborDistances);
        g.AddOutput(NeighborDistances, OnnxElementType.Float, -1, k);

        var neighbourLabels = g.AddNode("Gather", [labels, indices], g.UniqueName("knn_neighbor_labels"), OnnxAttribute.Int("axis", 0));
        var isClass = g.AddNode("Equal", [g.AddNode("Unsqueeze", [neighbourLabels, axis2], g.UniqueName("knn_labels3")), classes], g.UniqueName("knn_is_class"));
        var votes = g.AddNode("Cast", [isClass], g.UniqueName("knn_one_hot"), OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        if (weighting == KnnWeighting.Distance)
        {
            var epsilon = g.AddInitializer(g.UniqueName("knn_epsilon"), [KnnIndex.WeightEpsilon], 1);
            var weights = g.AddNode("Reciprocal", [g.AddNode("Add", [distances, epsilon], g.UniqueName("knn_distances_eps"))], g.UniqueName("knn_weights"));
            votes = g.AddNode("Mul", [votes, g.AddNode("Unsqueeze", [weights, axis2], g.UniqueName("knn_weights3"))], g.UniqueName("knn_weighted_votes"));
        }

        var perClass = g.AddNode("ReduceSum", [votes, axis1], g.UniqueName("knn_votes"), OnnxAttribute.Int("keepdims", 0));
        var total = g.AddNode("ReduceSum", [perClass, axis1], g.UniqueName("knn_total"), OnnxAttribute.Int("keepdims", 1));
        return g.AddNode("Div", [perClass, total], g.UniqueName("knn_shares"));
    }
}
