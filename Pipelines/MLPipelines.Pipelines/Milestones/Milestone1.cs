using MLPipelines.Mlp;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Trainers.Mlp;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>
/// Milestone 1: sign-language digits with the from-scratch, pure-C# MLP inside an ML.NET chain
/// (images → pixels → MLP). Two classes train the binary MLP (sigmoid output, BCE); more train the multiclass one.
/// </summary>
public static class Milestone1
{
    /// <summary>Fraction of the training split held out for early stopping when it is on.</summary>
    public const double EarlyStoppingHoldout = 0.1;

    /// <summary>
    /// The course's setup for two classes: 784-64-1, sigmoid hidden layer, sigmoid output with binary
    /// cross-entropy, mini-batch gradient descent (batch 32, learning rate 0.1, 100 epochs), plus random shifts
    /// of up to 2 pixels of the training images (measured: 94.7% → 96.0% mean validation accuracy over 5 seeds
    /// on 6 vs 8).
    /// </summary>
    /// <param name="seed">Training seed.</param>
    public static MlpOptions BinaryDefaults(int seed = 1) => new()
    {
        HiddenLayers = [64],
        HiddenActivation = Activation.Sigmoid,
        Optimizer = OptimizerKind.Sgd,
        LearningRate = 0.1,
        BatchSize = 32,
        Epochs = 100,
        RandomShift = 2,
        Seed = seed,
    };

    /// <summary>
    /// All ten digits: 784-128-64-10, ReLU, dropout 0.2, Adam (lr 0.001), batch 64, random 2-pixel shifts
    /// (measured: about 81% → 90.6% mean validation accuracy over 5 seeds), early stopping (patience 15)
    /// on a hold-out of the training split (<see cref="EarlyStoppingHoldout"/>).
    /// </summary>
    /// <param name="seed">Training seed.</param>
    public static MlpOptions MulticlassDefaults(int seed = 1) => new()
    {
        HiddenLayers = [128, 64],
        HiddenActivation = Activation.Relu,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 0.001,
        BatchSize = 64,
        Epochs = 150,
        Dropout = 0.2,
        L2 = 1e-4,
        EarlyStoppingPatience = 15,
        RandomShift = 2,
        Seed = seed,
    };

    /// <summary>Runs the milestone: trains with <paramref name="binaryOptions"/> or <paramref name="multiclassOptions"/> depending on the class count.</summary>
    /// <param name="experiment">Dataset, split and output options.</param>
    /// <param name="binaryOptions">MLP options for two classes; null for <see cref="BinaryDefaults"/>.</param>
    /// <param name="multiclassOptions">MLP options for more classes; null for <see cref="MulticlassDefaults"/>.</param>
    /// <param name="log">Receives one line per stage.</param>
    public static ExperimentResult Run(ExperimentOptions experiment, MlpOptions? binaryOptions = null, MlpOptions? multiclassOptions = null, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        return ImageClassificationExperiment.Run(experiment, (train, validation, binary, classes) =>
        {
            var options = binary ? binaryOptions ?? BinaryDefaults(experiment.Seed) : multiclassOptions ?? MulticlassDefaults(experiment.Seed);
            // Early stopping selects an epoch, so it must not look at the reported validation split: it uses a
            // hold-out of the training split instead. Without early stopping the validation split is only
            // recorded per epoch for the curves.
            var stopsEarly = options.EarlyStoppingPatience > 0;
            if (stopsEarly && options.ValidationFraction == 0)
                options.ValidationFraction = EarlyStoppingHoldout;
            MlpTrainerBase trainer = binary ? new MlpBinaryTrainer(options) : new MlpMulticlassTrainer(options);
            var model = stopsEarly ? trainer.Fit(train) : trainer.Fit(train, validation);
            var history = model.History.Epochs
                .Select(e => new EpochPoint(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValidationLoss, e.ValidationAccuracy))
                .ToList();
            return new TrainedClassifier(model, history, stopsEarly ? model.History.BestEpoch : null, model.TrainSeconds, model.SamplesPerSecond);
        }, log);
    }
}
