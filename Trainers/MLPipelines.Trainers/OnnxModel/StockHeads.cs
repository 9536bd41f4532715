using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// Stock ML.NET transformers that turn one-slot ONNX outputs into ML.NET's scalar prediction columns.
/// </summary>
/// <remarks>
/// ML.NET cannot read a rank-0 ONNX output and has no transform from a one-slot vector to a scalar; only
/// prediction transformers create scalar Score columns. No public constructor builds their model parameters,
/// so each head is a stock linear trainer fitted on one or two crafted rows whose result is an exact affine
/// identity (measured: weight 2 and bias 0 for the perceptron, weight 1 and bias 1 for online gradient
/// descent). The ONNX graph emits <c>(z - bias) / weight</c> so that the stock model's score equals the
/// network's value <c>z</c>; both are exact in float arithmetic for these weights.
/// </remarks>
internal static class StockHeads
{
    /// <summary>Scratch ONNX output holding the (pre-compensated) binary logit, one slot.</summary>
    public const string LogitColumn = "__mlpipelines_logit";

    /// <summary>Scratch ONNX output holding the (pre-compensated) predicted class index, one slot.</summary>
    public const string IndexColumn = "__mlpipelines_index";

    /// <summary>Scratch ONNX output holding the class probabilities.</summary>
    public const string ProbabilitiesColumn = "__mlpipelines_probabilities";

    private const string HeadLabel = "Label";

    /// <summary>A fitted affine identity head: the stock model computes <c>Weight * x + Bias</c>.</summary>
    public sealed record AffineHead(ITransformer Transformer, float Weight, float Bias);

    /// <summary>
    /// Perceptron head for binary classification: reads <see cref="LogitColumn"/> and writes Score and
    /// PredictedLabel (Score &gt; 0), then a fixed Platt calibrator writes Probability = sigmoid(Score).
    /// </summary>
    public static (AffineHead Head, ITransformer Calibrator) CreateBinary(MLContext ml)
    {
        var rows = new[]
        {
            new BinaryRow { Logit = [1f], Label = true },
            new BinaryRow { Logit = [-1f], Label = false },
        };
        var data = ml.Data.LoadFromEnumerable(rows, OneSlot<BinaryRow>(LogitColumn));
        var options = new AveragedPerceptronTrainer.Options
        {
            LabelColumnName = HeadLabel,
            FeatureColumnName = LogitColumn,
            LearningRate = 1f,
            DecreaseLearningRate = false,
            Averaged = false,
            NumberOfIterations = 1,
            Shuffle = false,
            L2Regularization = 0f,
            InitialWeightsDiameter = 0f,
        };
        var perceptron = ml.BinaryClassification.Trainers.AveragedPerceptron(options).Fit(data);
        var weight = perceptron.Model.Weights[0];
        var bias = perceptron.Model.Bias;
        EnsureUsable(weight, bias, "perceptron");
        // ML.NET's Platt calibrator computes 1 / (1 + exp(slope * score + offset)); slope -1 gives the sigmoid.
        var calibrator = ml.BinaryClassification.Calibrators.Platt(slope: -1, offset: 0).Fit(perceptron.Transform(data));
        return (new AffineHead(perceptron, weight, bias), calibrator);
    }

    /// <summary>
    /// Regression head for multiclass: reads <see cref="IndexColumn"/> and writes a scalar Score equal to the
    /// predicted class index, from which a value mapping produces the key-typed PredictedLabel.
    /// </summary>
    public static AffineHead CreateIndex(MLContext ml)
    {
        var data = ml.Data.LoadFromEnumerable(new[] { new IndexRow { Index = [1f], Label = 1f } }, OneSlot<IndexRow>(IndexColumn));
        var options = new OnlineGradientDescentTrainer.Options
        {
            LabelColumnName = HeadLabel,
            FeatureColumnName = IndexColumn,
            LearningRate = 0.5f,
            DecreaseLearningRate = false,
            Averaged = false,
            NumberOfIterations = 1,
            Shuffle = false,
            L2Regularization = 0f,
            InitialWeightsDiameter = 0f,
        };
        var regression = ml.Regression.Trainers.OnlineGradientDescent(options).Fit(data);
        var weight = regression.Model.Weights[0];
        var bias = regression.Model.Bias;
        EnsureUsable(weight, bias, "online gradient descent");
        return new AffineHead(regression, weight, bias);
    }

    /// <summary>
    /// OnnxTransformer types an ONNX output of shape [N, 1] as a vector with dimensions (1, 1); the stock heads
    /// check the exact vector type, so they are trained on that type.
    /// </summary>
    private static SchemaDefinition OneSlot<TRow>(string column)
    {
        var definition = SchemaDefinition.Create(typeof(TRow));
        definition[column].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 1, 1);
        return definition;
    }

    private static void EnsureUsable(float weight, float bias, string what)
    {
        if (!(weight > 0f) || !float.IsFinite(bias))
            throw new InvalidOperationException(
                $"The stock {what} head came out with weight {weight} and bias {bias}; expected a positive weight. " +
                "This ML.NET version trains its linear models differently from the one MLPipelines was built for.");
    }

    private sealed class BinaryRow
    {
        [ColumnName(LogitColumn)]
        public float[] Logit { get; set; } = [];

        [ColumnName(HeadLabel)]
        public bool Label { get; set; }
    }

    private sealed class IndexRow
    {
        [ColumnName(IndexColumn)]
        public float[] Index { get; set; } = [];

        [ColumnName(HeadLabel)]
        public float Label { get; set; }
    }
}
