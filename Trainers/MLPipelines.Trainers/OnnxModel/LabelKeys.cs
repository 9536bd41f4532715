using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// The classes of a key-typed label column: their count, display names, and the stock value mapping that
/// turns a predicted class index back into a key with the same key values (so <c>MapKeyToValue</c> returns
/// the original labels and the evaluators compare like with like).
/// </summary>
internal sealed class LabelKeys
{
    private const string KeyValuesKind = "KeyValues";
    private readonly Func<MLContext, string, string, IEstimator<ITransformer>> _createMapping;

    private LabelKeys(int count, IReadOnlyList<string> names, Func<MLContext, string, string, IEstimator<ITransformer>> createMapping)
    {
        Count = count;
        Names = names;
        _createMapping = createMapping;
    }

    /// <summary>Number of classes (the key type's cardinality).</summary>
    public int Count { get; }

    /// <summary>Class names in key order (the key values as text, or "0".."K-1" without key values).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Reads the classes of <paramref name="label"/>, which must be a key column.</summary>
    public static LabelKeys FromColumn(DataViewSchema.Column label)
    {
        if (label.Type is not KeyDataViewType key || key.Count == 0 || key.Count > int.MaxValue)
            throw new ArgumentException(
                $"Label column '{label.Name}' must be a key type with a known number of classes (got {label.Type}). " +
                "Add mlContext.Transforms.Conversion.MapValueToKey(\"" + label.Name + "\") before the trainer.");
        var count = (int)key.Count;
        var keyValues = label.Annotations.Schema.GetColumnOrNull(KeyValuesKind);
        if (keyValues is { Type: VectorDataViewType vector })
        {
            var method = typeof(LabelKeys).GetMethod(nameof(FromKeyValues), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(vector.ItemType.RawType);
            return (LabelKeys)method.Invoke(null, [label, count])!;
        }

        var names = Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return new LabelKeys(count, names, (ml, output, input) => MapIndex(ml, output, input, names));
    }

    /// <summary>A stock estimator mapping the float class index in <paramref name="indexColumn"/> to a key column.</summary>
    public IEstimator<ITransformer> CreatePredictedLabelMapping(MLContext ml, string outputColumn, string indexColumn)
        => _createMapping(ml, outputColumn, indexColumn);

    private static LabelKeys FromKeyValues<T>(DataViewSchema.Column label, int count)
    {
        VBuffer<T> values = default;
        label.Annotations.GetValue(KeyValuesKind, ref values);
        var dense = values.DenseValues().ToArray();
        if (dense.Length != count)
            throw new ArgumentException($"Label column '{label.Name}' has {count} keys but {dense.Length} key values.");
        if (typeof(T) == typeof(ReadOnlyMemory<char>))
        {
            var names = dense.Select(v => ((ReadOnlyMemory<char>)(object)v!).ToString()).ToArray();
            return new LabelKeys(count, names, (ml, output, input) => MapIndex(ml, output, input, names));
        }

        var display = dense.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToArray();
        return new LabelKeys(count, display, (ml, output, input) => MapIndex(ml, output, input, dense));
    }

    private static IEstimator<ITransformer> MapIndex<T>(MLContext ml, string output, string input, IReadOnlyList<T> values)
    {
        // treatValuesAsKeyType assigns keys in the order of the pairs (checked by a test), i.e. the label's key order.
        var pairs = values.Select((v, i) => new KeyValuePair<float, T>(i, v));
        return ml.Transforms.Conversion.MapValue(output, pairs, input, treatValuesAsKeyType: true);
    }
}
