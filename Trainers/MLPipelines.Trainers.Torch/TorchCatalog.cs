using MLPipelines.Trainers;
using MLPipelines.Torch.Training;
using MLPipelines.Trainers.Torch;
using TorchSharp;
using static TorchSharp.torch;

// In namespace Microsoft.ML, like ML.NET's own trainer packages: `using Microsoft.ML;` is enough to find them.
namespace Microsoft.ML;

/// <summary>
/// Catalog entry points of the TorchSharp trainers, in ML.NET's style:
/// <c>mlContext.BinaryClassification.Trainers.TorchSharp(...)</c> and
/// <c>mlContext.MulticlassClassification.Trainers.TorchSharp(...)</c>.
/// </summary>
public static class TorchCatalog
{
    /// <summary>A binary classifier training the module that <paramref name="moduleFactory"/> creates (2 output logits).</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="moduleFactory">Creates the untrained module; it receives [B, D] or [B, C, H, W] and returns [B, 2].</param>
    /// <param name="options">Options; null for the defaults.</param>
    public static TorchBinaryTrainer TorchSharp(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TorchBinaryTrainer(moduleFactory, options, CallerEnvironment.Of(catalog));
    }

    /// <summary>A binary classifier with the common settings as plain arguments (the rest at their defaults).</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="moduleFactory">Creates the untrained module (2 output logits).</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="featureColumnName">Known-size float vector feature column.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Learning rate (Adam).</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    public static TorchBinaryTrainer TorchSharp(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        Func<nn.Module<Tensor, Tensor>> moduleFactory, string labelColumnName, string featureColumnName = ColumnNames.Features,
        int epochs = TorchTrainingSettings.Defaults.Epochs, double learningRate = TorchTrainingSettings.Defaults.LearningRate,
        int batchSize = TorchTrainingSettings.Defaults.BatchSize)
        => catalog.TorchSharp(moduleFactory, Options(labelColumnName, featureColumnName, epochs, learningRate, batchSize));

    /// <summary>A multiclass classifier training the module that <paramref name="moduleFactory"/> creates (K output logits).</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="moduleFactory">Creates the untrained module; it receives [B, D] or [B, C, H, W] and returns [B, K].</param>
    /// <param name="options">Options; null for the defaults.</param>
    public static TorchMulticlassTrainer TorchSharp(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TorchMulticlassTrainer(moduleFactory, options, CallerEnvironment.Of(catalog));
    }

    /// <summary>A multiclass classifier with the common settings as plain arguments (the rest at their defaults).</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="moduleFactory">Creates the untrained module (K output logits).</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Known-size float vector feature column.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Learning rate (Adam).</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    public static TorchMulticlassTrainer TorchSharp(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        Func<nn.Module<Tensor, Tensor>> moduleFactory, string labelColumnName, string featureColumnName = ColumnNames.Features,
        int epochs = TorchTrainingSettings.Defaults.Epochs, double learningRate = TorchTrainingSettings.Defaults.LearningRate,
        int batchSize = TorchTrainingSettings.Defaults.BatchSize)
        => catalog.TorchSharp(moduleFactory, Options(labelColumnName, featureColumnName, epochs, learningRate, batchSize));

    private static TorchTrainerOptions Options(string label, string features, int epochs, double learningRate, int batchSize) => new()
    {
        LabelColumnName = label,
        FeatureColumnName = features,
        Epochs = epochs,
        LearningRate = learningRate,
        BatchSize = batchSize,
    };
}
