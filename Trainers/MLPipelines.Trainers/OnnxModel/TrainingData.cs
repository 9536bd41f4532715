using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// Rows of an <see cref="IDataView"/> materialised as one contiguous feature matrix plus class indices: floats, or
/// (when read with <c>codes: true</c> and every value is one of 256 levels k / 255 up to rounding, as ML.NET's
/// ExtractPixels with scale 1/255 produces) 8-bit codes and the exact float of each level.
/// </summary>
internal sealed class TrainingData
{
    private readonly float[]? _features;

    private TrainingData(float[] features, int[] labels, int dimension)
    {
        _features = features;
        Labels = labels;
        Dimension = dimension;
    }

    private TrainingData(byte[] codes, float[] levels, int[] labels, int dimension)
    {
        Codes = codes;
        Levels = levels;
        Labels = labels;
        Dimension = dimension;
    }

    /// <summary>Row-major features, <see cref="Count"/> x <see cref="Dimension"/>.</summary>
    /// <exception cref="InvalidOperationException">The rows were read as 8-bit <see cref="Codes"/>.</exception>
    public float[] Features => _features ?? throw new InvalidOperationException("These rows are stored as 8-bit codes, not floats.");

    /// <summary>Row-major 8-bit codes (value = <see cref="Levels"/>[code]), or null for float rows.</summary>
    public byte[]? Codes { get; }

    /// <summary>The float value of each code (256 entries; codes never seen hold k / 255), or null for float rows.</summary>
    public float[]? Levels { get; }

    /// <summary>0-based class index of every row (binary: 1 = true).</summary>
    public int[] Labels { get; }

    /// <summary>Feature vector length.</summary>
    public int Dimension { get; }

    /// <summary>Number of rows.</summary>
    public int Count => Labels.Length;

    /// <summary>The rows <paramref name="rows"/> (in that order) as a new, contiguous <see cref="TrainingData"/>.</summary>
    public TrainingData Select(IReadOnlyList<int> rows)
    {
        var labels0 = new int[rows.Count];
        for (var i = 0; i < rows.Count; i++)
            labels0[i] = Labels[rows[i]];
        if (Codes is { } codes)
        {
            var selected = new byte[(long)rows.Count * Dimension];
            for (var i = 0; i < rows.Count; i++)
                Array.Copy(codes, (long)rows[i] * Dimension, selected, (long)i * Dimension, Dimension);
            return new TrainingData(selected, Levels!, labels0, Dimension);
        }
        var features = new float[(long)rows.Count * Dimension];
        for (var i = 0; i < rows.Count; i++)
            Array.Copy(Features, (long)rows[i] * Dimension, features, (long)i * Dimension, Dimension);
        return new TrainingData(features, labels0, Dimension);
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
    /// <param name="data">The rows.</param>
    /// <param name="featureColumn">Known-size float vector column.</param>
    /// <param name="labelColumn">Boolean label column.</param>
    /// <param name="codes">Store pixel-like rows (every value k / 255) as 8-bit codes: a quarter of the memory.</param>
    public static TrainingData ReadBinary(IDataView data, string featureColumn, string labelColumn, bool codes = false)
    {
        var label = data.Schema.GetColumnOrNull(labelColumn)
            ?? throw new ArgumentException($"Label column '{labelColumn}' is not in the data.");
        if (label.Type != BooleanDataViewType.Instance)
            throw new ArgumentException(
                $"Label column '{labelColumn}' must be Boolean for binary classification, but is {label.Type}.");
        return Read<bool>(data, featureColumn, label, (bool v, long row) => v ? 1 : 0, codes);
    }

    /// <summary>Reads a multiclass task: key-typed label column with <paramref name="classCount"/> values.</summary>
    /// <param name="data">The rows.</param>
    /// <param name="featureColumn">Known-size float vector column.</param>
    /// <param name="labelColumn">Key-typed label column.</param>
    /// <param name="classCount">The label's key count.</param>
    /// <param name="codes">Store pixel-like rows (every value k / 255) as 8-bit codes: a quarter of the memory.</param>
    public static TrainingData ReadMulticlass(IDataView data, string featureColumn, string labelColumn, int classCount, bool codes = false)
    {
        var label = data.Schema.GetColumnOrNull(labelColumn)
            ?? throw new ArgumentException($"Label column '{labelColumn}' is not in the data.");
        return Read<uint>(data, featureColumn, label, (uint key, long row) =>
        {
            if (key == 0 || key > classCount)
                throw new InvalidDataException(
                    $"Label column '{labelColumn}', row {row}: missing or unknown label (key {key}; the label has {classCount} classes).");
            return (int)key - 1;
        }, codes);
    }

    private static TrainingData Read<TLabel>(IDataView data, string featureColumn, DataViewSchema.Column label, Func<TLabel, long, int> toIndex, bool codes)
    {
        var dimension = FeatureDimension(data.Schema, featureColumn);
        var features = data.Schema[featureColumn];
        // Exact allocation (a growing list would peak at about three copies: gigabytes for 224-px images). When the
        // view does not know its row count, a first pass with no active columns counts the rows without computing them.
        long rowCount = data.GetRowCount() ?? CountRows(data);
        if (rowCount * dimension > Array.MaxLength)
            throw new ArgumentException(
                $"{rowCount} rows of {dimension} features exceed the largest .NET array ({Array.MaxLength} values); use fewer rows or smaller images.");
        // 8-bit mode: every value must be the float ML.NET gave level k = round(255 v); the first value seen for each
        // level is recorded and any other value for it (or one off the grid) turns the read back to floats.
        byte[]? coded = codes ? new byte[rowCount * dimension] : null;
        float[]? levels = null;
        if (coded is not null)
        {
            levels = new float[256];
            Array.Fill(levels, float.NaN);
        }
        float[]? x = coded is null ? new float[rowCount * dimension] : null;
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
            if (coded is not null && !TryEncode(dense, coded.AsSpan((int)(row * dimension), dimension), levels!))
            {
                x = Decode(coded, levels!, row * dimension);
                coded = null;
            }
            if (x is not null)
                dense.CopyTo(x, row * dimension);
            y[row] = toIndex(value, row);
            row++;
        }
        if (row == 0)
            throw new ArgumentException("The training data has no rows.");
        if (row != rowCount)
            throw new InvalidOperationException($"The data view returned {row} rows but reported {rowCount}.");
        if (coded is not null)
        {
            for (int k = 0; k < 256; k++)
            {
                if (float.IsNaN(levels![k]))
                    levels[k] = k / 255f;
            }
            return new TrainingData(coded, levels!, y, dimension);
        }
        return new TrainingData(x!, y, dimension);
    }

    private static bool TryEncode(ReadOnlySpan<float> values, Span<byte> codes, float[] levels)
    {
        for (int j = 0; j < values.Length; j++)
        {
            float v = values[j];
            float scaled = v * 255f;
            int k = (int)MathF.Round(scaled);
            if (k < 0 || k > 255 || MathF.Abs(scaled - k) > 1e-3f)
                return false;
            float level = levels[k];
            if (float.IsNaN(level))
                levels[k] = v;
            else if (level != v)
                return false;
            codes[j] = (byte)k;
        }
        return true;
    }

    /// <summary>The first <paramref name="count"/> coded values as floats, in a new array of the codes' full length.</summary>
    private static float[] Decode(byte[] codes, float[] levels, long count)
    {
        var x = new float[codes.LongLength];
        for (long i = 0; i < count; i++)
            x[i] = levels[codes[i]];
        return x;
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
