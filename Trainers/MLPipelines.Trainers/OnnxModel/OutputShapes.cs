using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// Output <see cref="SchemaShape"/>s of the classifiers (ML.NET's <c>SchemaShape.Column</c> has no public
/// constructor, so the columns are described as a <see cref="DataViewSchema"/> and converted).
/// </summary>
internal static class OutputShapes
{
    private const string KeyValuesKind = "KeyValues";

    /// <summary>Checks the feature column shape: a known-size vector of Single.</summary>
    public static void CheckFeatures(SchemaShape input, string featureColumn)
    {
        if (!input.TryFindColumn(featureColumn, out var features))
            throw new ArgumentException($"Feature column '{featureColumn}' is not in the input schema.");
        if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Feature column '{featureColumn}' must be a known-size vector of Single, but is {features.Kind} of {features.ItemType}.");
    }

    /// <summary>Binary output: Score (Single), Probability (Single), PredictedLabel (Boolean).</summary>
    public static SchemaShape Binary(SchemaShape input, string labelColumn, string featureColumn)
    {
        CheckFeatures(input, featureColumn);
        if (input.TryFindColumn(labelColumn, out var label) &&
            (label.Kind != SchemaShape.Column.VectorKind.Scalar || label.ItemType != BooleanDataViewType.Instance))
            throw new ArgumentException($"Label column '{labelColumn}' must be a Boolean scalar for binary classification, but is {label.ItemType}.");
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(ColumnNames.Score, NumberDataViewType.Single);
        builder.AddColumn(ColumnNames.Probability, NumberDataViewType.Single);
        builder.AddColumn(ColumnNames.PredictedLabel, BooleanDataViewType.Instance);
        return Merge(input, builder.ToSchema());
    }

    /// <summary>Multiclass output: Score (vector of Single) and PredictedLabel (key, with the label's key values).</summary>
    public static SchemaShape Multiclass(SchemaShape input, string labelColumn, string featureColumn)
    {
        CheckFeatures(input, featureColumn);
        if (!input.TryFindColumn(labelColumn, out var label))
            throw new ArgumentException($"Label column '{labelColumn}' is not in the input schema.");
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentException(
                $"Label column '{labelColumn}' must be a key type for multiclass classification. " +
                $"Add mlContext.Transforms.Conversion.MapValueToKey(\"{labelColumn}\") before the trainer.");
        var annotations = new DataViewSchema.Annotations.Builder();
        if (label.Annotations.TryFindColumn(KeyValuesKind, out var keyValues) && keyValues.ItemType is PrimitiveDataViewType item)
        {
            typeof(OutputShapes).GetMethod(nameof(AddKeyValues), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(item.RawType).Invoke(null, [annotations, item]);
        }
        var keyType = label.ItemType as KeyDataViewType ?? new KeyDataViewType(typeof(uint), 2);
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(ColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, 2));
        builder.AddColumn(ColumnNames.PredictedLabel, keyType, annotations.ToAnnotations());
        return Merge(input, builder.ToSchema());
    }

    private static void AddKeyValues<T>(DataViewSchema.Annotations.Builder annotations, PrimitiveDataViewType item)
    {
        ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> value) => value = default;
        annotations.Add(KeyValuesKind, new VectorDataViewType(item), getter);
    }

    private static SchemaShape Merge(SchemaShape input, DataViewSchema added)
    {
        var addedShape = SchemaShape.Create(added);
        var names = new HashSet<string>(addedShape.Select(c => c.Name));
        return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(addedShape));
    }
}
