using MLPipelines.Trainers;
using MLPipelines.Knn;
using MLPipelines.Trainers.Knn;

// In namespace Microsoft.ML, like ML.NET's own trainer packages: `using Microsoft.ML;` is enough to find them.
namespace Microsoft.ML;

/// <summary>
/// Catalog entry points of the exact k-nearest-neighbour classifier, in ML.NET's style:
/// <c>mlContext.MulticlassClassification.Trainers.Knn(...)</c>.
/// </summary>
public static class KnnCatalog
{
    /// <summary>An exact k-nearest-neighbour classifier; Score holds the vote shares per class.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="k">Number of neighbours that vote.</param>
    /// <param name="metric">Distance metric.</param>
    /// <param name="weighting">Vote weighting.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Known-size float vector feature column.</param>
    public static KnnTrainer Knn(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        int k = KnnOptions.Defaults.K,
        KnnMetric metric = KnnOptions.Defaults.Metric,
        KnnWeighting weighting = KnnOptions.Defaults.Weighting,
        string labelColumnName = ColumnNames.Label,
        string featureColumnName = ColumnNames.Features)
        => catalog.Knn(new KnnOptions
        {
            K = k,
            Metric = metric,
            Weighting = weighting,
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
        });

    /// <summary>An exact k-nearest-neighbour classifier configured by <paramref name="options"/>.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="options">The trainer's options.</param>
    public static KnnTrainer Knn(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, KnnOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new KnnTrainer(options);
    }
}
