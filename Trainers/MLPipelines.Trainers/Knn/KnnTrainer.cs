using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Knn;
using MLPipelines.Trainers.OnnxModel;

namespace MLPipelines.Trainers.Knn;

/// <summary>
/// Exact k-nearest-neighbour classifier. Fitting stores the training rows in a <see cref="KnnIndex"/> and compiles
/// the search into an ONNX graph (reference matrix as an initializer: Gemm distances, TopK, label Gather, one-hot
/// votes) run by stock ML.NET transformers. Output columns follow ML.NET's multiclass schema: Score (vote shares
/// per class, summing to 1) and PredictedLabel (key, same key values as the label; equal shares go to the
/// smaller class index).
/// </summary>
public sealed class KnnTrainer : IEstimator<KnnModel>
{
    /// <summary>Creates the trainer; the options are validated here, naming the first invalid one.</summary>
    /// <param name="options">The trainer's options.</param>
    public KnnTrainer(KnnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
    }

    /// <summary>The trainer's own copy of the options it was created with.</summary>
    public KnnOptions Options { get; }

    /// <summary>Indexes every row of <paramref name="input"/> and builds the scoring chain.</summary>
    /// <param name="input">Training data with the label, feature and (optional) source columns.</param>
    public KnnModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var label = input.Schema.GetColumnOrNull(Options.LabelColumnName)
            ?? throw new ArgumentException($"Label column '{Options.LabelColumnName}' is not in the data.", nameof(input));
        var keys = LabelKeys.FromColumn(label);
        var data = TrainingData.ReadMulticlass(input, Options.FeatureColumnName, Options.LabelColumnName, keys.Count);
        if (Options.K > data.Count)
            throw new ArgumentException($"K = {Options.K} but the training data has only {data.Count} rows.", nameof(KnnOptions.K));
        var sources = Options.SourceColumnName is null ? null : ReadSources(input, Options.SourceColumnName, data.Count);
        var index = new KnnIndex(data.Features, data.Dimension, data.Labels, Options.Metric, keys.Names, sources);

        var ml = new MLContext(seed: 0);
        var compiled = ClassifierCompiler.MulticlassFromProbabilities(ml, input, Options.FeatureColumnName, data.Dimension, keys,
            (g, x) => KnnOnnxExporter.WriteShares(g, index, x, Options.K, Options.Weighting));
        return new KnnModel(compiled.Chain, compiled.Onnx, index, Options.K, Options.Weighting);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (Options.SourceColumnName is { } column)
        {
            // Fit reads this column (see ReadSources), so the schema check rejects what Fit would.
            var source = inputSchema.FirstOrDefault(c => c.Name == column);
            if (source.Name is null)
                throw new ArgumentException($"Source column '{column}' is not in the input schema.", nameof(inputSchema));
            if (source.Kind != SchemaShape.Column.VectorKind.Scalar || source.ItemType is not TextDataViewType)
                throw new ArgumentException($"Source column '{column}' must be text, but is {source.Kind} of {source.ItemType}.", nameof(inputSchema));
        }
        return OutputShapes.Multiclass(inputSchema, Options.LabelColumnName, Options.FeatureColumnName);
    }

    private static string[] ReadSources(IDataView data, string column, int expected)
    {
        var source = data.Schema.GetColumnOrNull(column)
            ?? throw new ArgumentException($"Source column '{column}' is not in the data.", nameof(KnnOptions.SourceColumnName));
        if (source.Type is not TextDataViewType)
            throw new ArgumentException($"Source column '{column}' must be text, but is {source.Type}.", nameof(KnnOptions.SourceColumnName));
        var ids = new List<string>(expected);
        using var cursor = data.GetRowCursor([source]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(source);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            ids.Add(value.ToString());
        }
        if (ids.Count != expected)
            throw new InvalidOperationException($"Source column '{column}' gave {ids.Count} rows but the features {expected}.");
        return ids.ToArray();
    }
}
