using MLPipelines.Trainers;
using MLPipelines.Mlp;
using MLPipelines.Trainers.Mlp;

// In namespace Microsoft.ML, like ML.NET's own trainer packages: `using Microsoft.ML;` is enough to find them.
namespace Microsoft.ML;

/// <summary>
/// Catalog entry points of the pure-C# MLP trainers, in ML.NET's style:
/// <c>mlContext.BinaryClassification.Trainers.Mlp(...)</c> and
/// <c>mlContext.MulticlassClassification.Trainers.Mlp(...)</c>.
/// </summary>
public static class MlpCatalog
{
    /// <summary>A binary MLP classifier with <see cref="MlpOptions"/>' defaults for everything not given.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="featureColumnName">Known-size float vector feature column.</param>
    /// <param name="hiddenLayers">Units per hidden layer; null for <see cref="MlpOptions.Defaults.HiddenLayers"/>.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    /// <param name="optimizer">Optimiser.</param>
    /// <param name="seed">Seed of initialisation and shuffling; null draws it from the catalog's <see cref="MLContext"/>.</param>
    public static MlpBinaryTrainer Mlp(
        this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = ColumnNames.Label,
        string featureColumnName = ColumnNames.Features,
        int[]? hiddenLayers = null,
        int epochs = MlpTrainingSettings.Defaults.Epochs,
        double learningRate = MlpTrainingSettings.Defaults.LearningRate,
        int batchSize = MlpTrainingSettings.Defaults.BatchSize,
        OptimizerKind optimizer = MlpTrainingSettings.Defaults.Optimizer,
        int? seed = null)
        => catalog.Mlp(Fill(new MlpOptions(), labelColumnName, featureColumnName, hiddenLayers, epochs, learningRate, batchSize, optimizer, seed));

    /// <summary>A binary MLP classifier configured by <paramref name="options"/> (copied).</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="options">Network and training options.</param>
    public static MlpBinaryTrainer Mlp(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, MlpOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new MlpBinaryTrainer(options, CallerEnvironment.Of(catalog));
    }

    /// <summary>A multiclass MLP classifier with <see cref="MlpMulticlassOptions"/>' defaults for everything not given.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Known-size float vector feature column.</param>
    /// <param name="hiddenLayers">Units per hidden layer; null for <see cref="MlpMulticlassOptions.Defaults.HiddenLayers"/>.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    /// <param name="optimizer">Optimiser.</param>
    /// <param name="seed">Seed of initialisation and shuffling; null draws it from the catalog's <see cref="MLContext"/>.</param>
    public static MlpMulticlassTrainer Mlp(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = ColumnNames.Label,
        string featureColumnName = ColumnNames.Features,
        int[]? hiddenLayers = null,
        int epochs = MlpTrainingSettings.Defaults.Epochs,
        double learningRate = MlpMulticlassOptions.Defaults.LearningRate,
        int batchSize = MlpMulticlassOptions.Defaults.BatchSize,
        OptimizerKind optimizer = MlpMulticlassOptions.Defaults.Optimizer,
        int? seed = null)
        => catalog.Mlp(Fill(new MlpMulticlassOptions(), labelColumnName, featureColumnName, hiddenLayers, epochs, learningRate, batchSize, optimizer, seed));

    /// <summary>A multiclass MLP classifier configured by <paramref name="options"/> (copied).</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="options">Network and training options.</param>
    public static MlpMulticlassTrainer Mlp(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, MlpMulticlassOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new MlpMulticlassTrainer(options, CallerEnvironment.Of(catalog));
    }

    private static T Fill<T>(T options, string label, string features, int[]? hidden, int epochs, double learningRate, int batchSize,
        OptimizerKind optimizer, int? seed) where T : MlpOptions
    {
        options.LabelColumnName = label;
        options.FeatureColumnName = features;
        options.HiddenLayers = hidden ?? options.HiddenLayers;
        options.Epochs = epochs;
        options.LearningRate = learningRate;
        options.BatchSize = batchSize;
        options.Optimizer = optimizer;
        options.Seed = seed;
        return options;
    }
}
