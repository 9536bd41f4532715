using Microsoft.ML;
using MLPipelines.Mlp;
using MLPipelines.Trainers.Mlp;

namespace MLPipelines.Trainers;

/// <summary>
/// Catalog entry points of the pure-C# MLP trainers, in ML.NET's style:
/// <c>mlContext.BinaryClassification.Trainers.Mlp(...)</c> and
/// <c>mlContext.MulticlassClassification.Trainers.Mlp(...)</c>.
/// </summary>
public static class MlpCatalog
{
    /// <summary>A binary MLP classifier (sigmoid hidden layers by default, sigmoid output, binary cross-entropy).</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="featureColumnName">Known-size float vector feature column.</param>
    /// <param name="hiddenLayers">Units per hidden layer; null for a single layer of 64.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    /// <param name="optimizer">Optimiser.</param>
    /// <param name="seed">Seed of initialisation and shuffling.</param>
    public static MlpBinaryTrainer Mlp(
        this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = ColumnNames.Label,
        string featureColumnName = ColumnNames.Features,
        int[]? hiddenLayers = null,
        int epochs = 50,
        double learningRate = 0.1,
        int batchSize = 32,
        OptimizerKind optimizer = OptimizerKind.Sgd,
        int seed = 1)
        => catalog.Mlp(Options(labelColumnName, featureColumnName, hiddenLayers, epochs, learningRate, batchSize, optimizer, seed, Activation.Sigmoid));

    /// <summary>A binary MLP classifier configured by <paramref name="options"/>.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="options">Network and training options.</param>
    public static MlpBinaryTrainer Mlp(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, MlpOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new MlpBinaryTrainer(options);
    }

    /// <summary>A multiclass MLP classifier (ReLU hidden layers by default, softmax output, cross-entropy).</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Known-size float vector feature column.</param>
    /// <param name="hiddenLayers">Units per hidden layer; null for 128 and 64.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    /// <param name="optimizer">Optimiser.</param>
    /// <param name="seed">Seed of initialisation and shuffling.</param>
    public static MlpMulticlassTrainer Mlp(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = ColumnNames.Label,
        string featureColumnName = ColumnNames.Features,
        int[]? hiddenLayers = null,
        int epochs = 50,
        double learningRate = 0.001,
        int batchSize = 64,
        OptimizerKind optimizer = OptimizerKind.Adam,
        int seed = 1)
        => catalog.Mlp(Options(labelColumnName, featureColumnName, hiddenLayers ?? [128, 64], epochs, learningRate, batchSize, optimizer, seed, Activation.Relu));

    /// <summary>A multiclass MLP classifier configured by <paramref name="options"/>.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="options">Network and training options.</param>
    public static MlpMulticlassTrainer Mlp(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, MlpOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new MlpMulticlassTrainer(options);
    }

    private static MlpOptions Options(string label, string features, int[]? hidden, int epochs, double learningRate, int batchSize,
        OptimizerKind optimizer, int seed, Activation activation) => new()
    {
        LabelColumnName = label,
        FeatureColumnName = features,
        HiddenLayers = hidden ?? [64],
        HiddenActivation = activation,
        Epochs = epochs,
        LearningRate = learningRate,
        BatchSize = batchSize,
        Optimizer = optimizer,
        Seed = seed,
    };
}
