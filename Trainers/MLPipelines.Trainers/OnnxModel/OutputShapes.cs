using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// Output <see cref="SchemaShape"/>s of the classifiers. They are exactly those of ML.NET's own trainers
/// (binary: Score, Probability, PredictedLabel; multiclass: Score vector and a key PredictedLabel carrying the
/// label's key values), and <c>SchemaShape.Column</c> has no public constructor, so the shape is obtained from
/// a stock L-BFGS estimator's <c>GetOutputSchema</c>, which only inspects the input shape.
/// </summary>
internal static class OutputShapes
{
    private static readonly MLContext Context = new(seed: 0);

    /// <summary>Binary output: Score (Single), Probability (Single), PredictedLabel (Boolean).</summary>
    public static SchemaShape Binary(SchemaShape input, string labelColumn, string featureColumn)
    {
        CheckFeatures(input, featureColumn);
        var label = Find(input, labelColumn, "Label");
        if (label.Kind != SchemaShape.Column.VectorKind.Scalar || label.ItemType != BooleanDataViewType.Instance)
            throw new ArgumentException($"Label column '{labelColumn}' must be a Boolean scalar for binary classification, but is {label.ItemType}.");
        return Context.BinaryClassification.Trainers.LbfgsLogisticRegression(labelColumn, featureColumn).GetOutputSchema(input);
    }

    /// <summary>Multiclass output: Score (vector of Single) and PredictedLabel (key, with the label's key values).</summary>
    public static SchemaShape Multiclass(SchemaShape input, string labelColumn, string featureColumn)
    {
        CheckFeatures(input, featureColumn);
        var label = Find(input, labelColumn, "Label");
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentException(
                $"Label column '{labelColumn}' must be a key type for multiclass classification. " +
                $"Add mlContext.Transforms.Conversion.MapValueToKey(\"{labelColumn}\") before the trainer.");
        return Context.MulticlassClassification.Trainers.LbfgsMaximumEntropy(labelColumn, featureColumn).GetOutputSchema(input);
    }

    private static void CheckFeatures(SchemaShape input, string featureColumn)
    {
        var features = Find(input, featureColumn, "Feature");
        if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Feature column '{featureColumn}' must be a known-size vector of Single, but is {features.Kind} of {features.ItemType}.");
    }

    private static SchemaShape.Column Find(SchemaShape input, string name, string role)
    {
        foreach (var column in input)
        {
            if (column.Name == name)
                return column;
        }
        throw new ArgumentException($"{role} column '{name}' is not in the input schema (columns: {string.Join(", ", input.Select(c => c.Name))}).");
    }
}
