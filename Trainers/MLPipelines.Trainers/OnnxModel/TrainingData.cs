using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>Rows of an <see cref="IDataView"/> materialised as one contiguous feature matrix plus class indices.</summary>
internal sealed class TrainingData
{
    private TrainingData(float[] features, int[] labels, int dimension)
    {
        Features = features;
        Labels = labels;
        Dimension = dimension;
    }

    /// <summary>Row-major features, <see cref="Count"/> x <see cref="Dimension"/>.</summary>
    public float[] Features { get; }

    /// <summary>0-based class index of every row (binary: 1 = true).</summary>
    public int[] Labels { get; }

    /// <summary>Feature vector length.</summary>
    public int Dimension { get; }

    /// <summary>Number of rows.</summary>
    public int Count => Labels.Length;

    /// <summary>The rows <paramref name="rows"/> (in that order) as a new, contiguous <see cref="TrainingData"/>.</summary>
    public TrainingData Select(IReadOnlyList<int> rows)
    {
        var features = new float[rows.Count * Dimension];
        var labels = new int[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            Array.Copy(Features, (long)rows[i] * Dimension, features, (long)i * Dimension, Dimension);
            labels[i] = Labels[rows[i]];
        }
        return new TrainingData(features, labels, Dimension);
    }

    /// <summary>Returns the length of the known-size float vector column <paramref name="featureColumn"/>.</summary>
    public static int FeatureDimension(DataViewSchema schema, string featureColumn)
    {
        var column = schema.GetColumnOrNull(featureColumn)
            ?? throw new ArgumentException($"Feature column '{featureColumn}' is not in the data (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}).");
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType n } vector || n.RawType != typeof(float) || !vector.IsKnownSize)
            throw new ArgumentException(
                $"Feature column '{featureColumn}' must be a known-size vector of Single (float), but is {column.Type}. " +
                "Use image transforms, Concatenate or a SchemaDefinition that gives the vector size.");
        return vector.Size;
    }

    /// <summary>Reads a binary task: Boolean label column.</summary>
    public static TrainingData ReadBinary(IDataView data, string featureColumn, string labelColumn)
    {
        var label = data.Schema.GetColumnOrNull(labelColumn)
            ?? throw new ArgumentException($"Label column '{labelColumn}' is not in the data.");
        if (label.Type != BooleanDataViewType.Instance)
            throw new ArgumentException(
                $"Label column '{labelColumn}' must be Boolean for binary classification, but is {label.Type}.");
        return Read<bool>(data, featureColumn, label, (bool v, long row) => v ? 1 : 0);
    }

    /// <summary>Reads a multiclass task: key-typed label column with <paramref name="classCount"/> values.</summary>
    public static TrainingData ReadMulticlass(IDataView data, string featureColumn, string labelColumn, int classCount)
    {
        var label = data.Schema.GetColumnOrNull(labelColumn)
            ?? throw new ArgumentException($"Label column '{labelColumn}' is not in the data.");
        return Read<uint>(data, featureColumn, label, (uint key, long row) =>
        {
            if (key == 0 || key > classCount)
                throw new InvalidDataException(
                    $"Label column '{labelColumn}', row {row}: missing or unknown label (key {key}; the label has {classCount} classes).");
            return (int)key - 1;
        });
    }

    private static TrainingData Read<TLabel>(IDataView data, string featureColumn, DataViewSchema.Column label, Func<TLabel, long, int> toIndex)
    {
        var dimension = FeatureDimension(data.Schema, featureColumn);
        var features = data.Schema[featureColumn];
        // Exact allocation (a growing list would peak at about three copies: gigabytes for 224-px images). When the
        // view does not know its row count, a first pass with no active columns counts the rows without computing them.
        long rowCount = data.GetRowCount() ?? CountRows(data);
        if (rowCount * dimension > Array.MaxLength)
            throw new ArgumentException(
                $"{rowCount} rows of {dimension} features exceed the largest .NET array ({Array.MaxLength} values); use fewer rows or smaller images.");
        var x = new float[rowCount * dimension];
        var y = new int[rowCount];
        using var cursor = data.GetRowCursor([features, label]);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(features);
        var getLabel = cursor.GetGetter<TLabel>(label);
        VBuffer<float> vector = default;
        TLabel value = default!;
        var dense = new float[dimension];
        long row = 0;
        while (cursor.MoveNext())
        {
            getFeatures(ref vector);
            getLabel(ref value);
            vector.CopyTo(dense);
            for (var j = 0; j < dense.Length; j++)
            {
                if (!float.IsFinite(dense[j]))
                    throw new InvalidDataException(
                        $"Feature column '{featureColumn}', row {row}, slot {j}: value {dense[j]} is not finite (NaN or infinity).");
            }
            if (row == rowCount)
                throw new InvalidOperationException($"The data view returned more rows than the {rowCount} it reported.");
            dense.CopyTo(x, row * dimension);
            y[row] = toIndex(value, row);
            row++;
        }
        if (row == 0)
            throw new ArgumentException("The training data has no rows.");
        if (row != rowCount)
            throw new InvalidOperationException($"The data view returned {row} rows but reported {rowCount}.");
        return new TrainingData(x, y, dimension);
    }

    private static long CountRows(IDataView data)
    {
        long count = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
            count++;
        return count;
    }
}
