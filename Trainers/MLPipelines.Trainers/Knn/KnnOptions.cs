using MLPipelines.Knn;

namespace MLPipelines.Trainers.Knn;

/// <summary>Options of <see cref="KnnTrainer"/>. Validated once, when the trainer is created.</summary>
public sealed class KnnOptions
{
    /// <summary>The default values of <see cref="KnnOptions"/>, the one source every overload reads.</summary>
    public static class Defaults
    {
        /// <summary>Neighbours that vote: 5.</summary>
        public const int K = 5;

        /// <summary>Distance metric: Euclidean.</summary>
        public const KnnMetric Metric = KnnMetric.Euclidean;

        /// <summary>Vote weighting: uniform.</summary>
        public const KnnWeighting Weighting = KnnWeighting.Uniform;
    }

    /// <summary>Name of the key-typed label column. The default value is "Label".</summary>
    public string LabelColumnName { get; set; } = ColumnNames.Label;

    /// <summary>Name of the known-size float vector feature column (e.g. embeddings). The default value is "Features".</summary>
    public string FeatureColumnName { get; set; } = ColumnNames.Features;

    /// <summary>Number of neighbours that vote. The default value is 5.</summary>
    public int K { get; set; } = Defaults.K;

    /// <summary>Distance metric. The default value is <see cref="KnnMetric.Euclidean"/>.</summary>
    public KnnMetric Metric { get; set; } = Defaults.Metric;

    /// <summary>Vote weighting. The default value is <see cref="KnnWeighting.Uniform"/>.</summary>
    public KnnWeighting Weighting { get; set; } = Defaults.Weighting;

    /// <summary>
    /// Optional text column with an id per training row (e.g. the image path), returned by
    /// <see cref="KnnModel.Neighbors(ReadOnlySpan{float}, int)"/> for retrieval. The default value is null (none).
    /// </summary>
    public string? SourceColumnName { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(LabelColumnName))
            throw new ArgumentException("LabelColumnName must be a column name.", nameof(LabelColumnName));
        if (string.IsNullOrWhiteSpace(FeatureColumnName))
            throw new ArgumentException("FeatureColumnName must be a column name.", nameof(FeatureColumnName));
        if (K < 1)
            throw new ArgumentException($"K must be at least 1, got {K}.", nameof(K));
        if (!Enum.IsDefined(Metric))
            throw new ArgumentException($"Metric {Metric} is not a KnnMetric value.", nameof(Metric));
        if (!Enum.IsDefined(Weighting))
            throw new ArgumentException($"Weighting {Weighting} is not a KnnWeighting value.", nameof(Weighting));
        if (SourceColumnName is not null && string.IsNullOrWhiteSpace(SourceColumnName))
            throw new ArgumentException("SourceColumnName must be null or a column name.", nameof(SourceColumnName));
    }

    /// <summary>A copy of these options, for a trainer to own.</summary>
    public KnnOptions Clone() => (KnnOptions)MemberwiseClone();
}
