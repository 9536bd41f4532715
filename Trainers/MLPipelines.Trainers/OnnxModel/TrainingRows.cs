using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// The steps every trainer's <c>Fit(train, validation)</c> shares: reading the rows, checking that validation data
/// matches the training data, holding out a stratified fraction when no validation data is given, and finding the
/// image shape of the feature column.
/// </summary>
internal static class TrainingRows
{
    /// <summary>The training rows, the validation rows (given, held out, or none) and the class names.</summary>
    /// <param name="read">Reads a data view into rows and class names (the trainer's label convention).</param>
    /// <param name="trainData">The training data.</param>
    /// <param name="validationData">Validation data, or null.</param>
    /// <param name="validationFraction">Stratified fraction held out of <paramref name="trainData"/> when <paramref name="validationData"/> is null; 0 for none.</param>
    /// <param name="seed">Seed of the hold-out.</param>
    /// <param name="earlyStoppingPatience">The trainer's patience; positive patience needs validation rows.</param>
    public static (TrainingData Train, TrainingData? Validation, IReadOnlyList<string> Classes) Split(
        Func<IDataView, (TrainingData Data, IReadOnlyList<string> Classes)> read,
        IDataView trainData, IDataView? validationData, double validationFraction, int seed, int earlyStoppingPatience)
    {
        var (train, classes) = read(trainData);
        TrainingData? validation = null;
        if (validationData is not null)
        {
            var (rows, validationClasses) = read(validationData);
            if (!validationClasses.SequenceEqual(classes))
                throw new ArgumentException(
                    $"Validation labels ({string.Join(", ", validationClasses)}) differ from training labels ({string.Join(", ", classes)}); " +
                    "transform both with the same fitted label mapping.", nameof(validationData));
            if (rows.Dimension != train.Dimension)
                throw new ArgumentException($"Validation features have {rows.Dimension} slots, training features {train.Dimension}.", nameof(validationData));
            validation = rows;
        }
        else if (validationFraction > 0)
        {
            var (trainRows, heldRows) = Holdout.Split(train.Labels, validationFraction, seed);
            validation = heldRows.Length > 0 ? train.Select(heldRows) : null;
            train = train.Select(trainRows);
        }
        if (earlyStoppingPatience > 0 && validation is null)
            throw new ArgumentException(
                "EarlyStoppingPatience needs validation data: set ValidationFraction or call Fit(trainData, validationData).",
                "EarlyStoppingPatience");
        return (train, validation, classes);
    }

    /// <summary>
    /// [C, H, W] of the images in the feature vector: <paramref name="explicitShape"/> when given (checked against the
    /// feature count), else the column's three dimensions (ML.NET's ExtractPixels records them; two dimensions are one
    /// grey channel when <paramref name="twoDimensionsAreGrey"/>), else null.
    /// </summary>
    /// <param name="schema">The training data's schema.</param>
    /// <param name="featureColumn">The feature column.</param>
    /// <param name="dimension">Features per row.</param>
    /// <param name="explicitShape">The options' ImageShape, or null.</param>
    /// <param name="twoDimensionsAreGrey">Read an [H, W] column as [1, H, W].</param>
    public static int[]? ImageShape(DataViewSchema schema, string featureColumn, int dimension, int[]? explicitShape, bool twoDimensionsAreGrey)
    {
        if (explicitShape is not null)
        {
            long size = (long)explicitShape[0] * explicitShape[1] * explicitShape[2];
            if (size != dimension)
                throw new ArgumentException(
                    $"ImageShape [{string.Join(", ", explicitShape)}] holds {size} values, but feature column '{featureColumn}' has {dimension}.", "ImageShape");
            return (int[])explicitShape.Clone();
        }
        return schema[featureColumn].Type switch
        {
            VectorDataViewType { Dimensions.Length: 3 } v => [v.Dimensions[0], v.Dimensions[1], v.Dimensions[2]],
            VectorDataViewType { Dimensions.Length: 2 } v when twoDimensionsAreGrey => [1, v.Dimensions[0], v.Dimensions[1]],
            _ => null,
        };
    }
}
