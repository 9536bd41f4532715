using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Onnx;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// Writes the ONNX graph of a trained classifier body plus the nodes its stock heads need, and assembles the
/// stock ML.NET transformer chain that runs it with ML.NET's standard output columns.
/// </summary>
/// <remarks>
/// The graph always takes a flat float input <c>[N, D]</c> named like the feature column (a body that needs
/// an image tensor reshapes it inside the graph), and, besides the scratch columns the heads read, exposes
/// clean outputs for standalone use: <c>logits</c> and <c>probabilities</c> (plus <c>predicted_index</c>
/// for multiclass).
/// </remarks>
internal static class ClassifierCompiler
{
    /// <summary>Writes the network body: given the builder and the input tensor name, returns the logits tensor name.</summary>
    public delegate string BodyWriter(OnnxGraphBuilder graph, string input);

    /// <summary>Compiled result: the stock chain and the ONNX bytes it embeds.</summary>
    public sealed record Compiled(TransformerChain<ITransformer> Chain, byte[] Onnx);

    /// <summary>Binary classifier: the body returns logits of shape [N, 1] (positive class).</summary>
    public static Compiled Binary(MLContext ml, IDataView data, string featureColumn, int dimension, BodyWriter body)
    {
        var (head, calibrator) = StockHeads.CreateBinary(ml);
        var g = NewGraph("mlpipelines_binary_classifier", featureColumn, dimension, out var input);
        var logits = body(g, input);
        Expose(g, logits, "logits", 1);
        Expose(g, g.AddNode("Sigmoid", [logits], g.UniqueName("sigmoid")), "probabilities", 1);
        Expose(g, Compensate(g, logits, head), StockHeads.LogitColumn, 1);
        var bytes = g.ToBytes();

        var onnx = ApplyOnnx(ml, data, bytes, featureColumn, StockHeads.LogitColumn);
        var scored = head.Transformer.Transform(onnx.Transform(data));
        var calibrated = calibrator.Transform(scored);
        var drop = ml.Transforms.DropColumns(StockHeads.LogitColumn).Fit(calibrated);
        return new Compiled(new TransformerChain<ITransformer>(onnx, head.Transformer, calibrator, drop), bytes);
    }

    /// <summary>Multiclass classifier: the body returns logits of shape [N, K] in the label's key order.</summary>
    public static Compiled Multiclass(MLContext ml, IDataView data, string featureColumn, int dimension, LabelKeys labels, BodyWriter body)
        => Multiclass(ml, data, featureColumn, dimension, labels, body, bodyGivesProbabilities: false);

    /// <summary>
    /// Multiclass classifier whose body already returns class probabilities (e.g. KNN vote shares) of shape
    /// [N, K] in the label's key order: no Softmax, and no <c>logits</c> output. Score = those probabilities;
    /// PredictedLabel = their ArgMax (first maximum, i.e. the smaller class index on ties).
    /// </summary>
    public static Compiled MulticlassFromProbabilities(MLContext ml, IDataView data, string featureColumn, int dimension, LabelKeys labels, BodyWriter body)
        => Multiclass(ml, data, featureColumn, dimension, labels, body, bodyGivesProbabilities: true);

    private static Compiled Multiclass(MLContext ml, IDataView data, string featureColumn, int dimension, LabelKeys labels, BodyWriter body, bool bodyGivesProbabilities)
    {
        var head = StockHeads.CreateIndex(ml);
        var k = labels.Count;
        var g = NewGraph("mlpipelines_multiclass_classifier", featureColumn, dimension, out var input);
        var output = body(g, input);
        string probabilities;
        if (bodyGivesProbabilities)
        {
            probabilities = output;
        }
        else
        {
            Expose(g, output, "logits", k);
            probabilities = g.AddNode("Softmax", [output], g.UniqueName("softmax"), OnnxAttribute.Int("axis", 1));
        }

        Expose(g, probabilities, "probabilities", k);
        Expose(g, probabilities, StockHeads.ProbabilitiesColumn, k);
        var argmax = g.AddNode("ArgMax", [probabilities], g.UniqueName("argmax"),
            OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 1));
        var index = g.AddNode("Cast", [argmax], g.UniqueName("index"), OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        Expose(g, index, "predicted_index", 1);
        Expose(g, Compensate(g, index, head), StockHeads.IndexColumn, 1);
        var bytes = g.ToBytes();

        var onnx = ApplyOnnx(ml, data, bytes, featureColumn, StockHeads.ProbabilitiesColumn, StockHeads.IndexColumn);
        var afterOnnx = onnx.Transform(data);
        var afterHead = head.Transformer.Transform(afterOnnx);
        // The regression head writes a scalar "Score" (= class index); map it to the key-typed PredictedLabel,
        // then put the probability vector in Score, as ML.NET's multiclass trainers do.
        var predicted = labels.CreatePredictedLabelMapping(ml, ColumnNames.PredictedLabel, ColumnNames.Score).Fit(afterHead);
        var afterLabel = predicted.Transform(afterHead);
        var score = ml.Transforms.CopyColumns(ColumnNames.Score, StockHeads.ProbabilitiesColumn).Fit(afterLabel);
        var afterScore = score.Transform(afterLabel);
        var drop = ml.Transforms.DropColumns(StockHeads.ProbabilitiesColumn, StockHeads.IndexColumn).Fit(afterScore);
        return new Compiled(new TransformerChain<ITransformer>(onnx, head.Transformer, predicted, score, drop), bytes);
    }

    private static OnnxGraphBuilder NewGraph(string name, string featureColumn, int dimension, out string input)
    {
        var g = new OnnxGraphBuilder(name);
        input = g.AddInput(featureColumn, OnnxElementType.Float, -1, dimension);
        return g;
    }

    /// <summary>Emits <c>(value - bias) / weight</c> so that the stock head's <c>weight * x + bias</c> returns <c>value</c>.</summary>
    private static string Compensate(OnnxGraphBuilder g, string value, StockHeads.AffineHead head)
    {
        var bias = g.AddInitializer(g.UniqueName("head_bias"), [head.Bias], 1);
        var weight = g.AddInitializer(g.UniqueName("head_weight"), [head.Weight], 1);
        var shifted = g.AddNode("Sub", [value, bias], g.UniqueName("head_shift"));
        return g.AddNode("Div", [shifted, weight], g.UniqueName("head_scale"));
    }

    private static void Expose(OnnxGraphBuilder g, string tensor, string outputName, long width)
    {
        g.AddNode("Identity", [tensor], outputName);
        g.AddOutput(outputName, OnnxElementType.Float, -1, width);
    }

    private static ITransformer ApplyOnnx(MLContext ml, IDataView data, byte[] bytes, string featureColumn, params string[] outputs)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return ml.Transforms.ApplyOnnxModel(outputs, [featureColumn], stream).Fit(data);
    }
}
