using System.Globalization;
using Microsoft.ML;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Trainers.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Pipelines.ImageClassification;

/// <summary>
/// Trains a TorchSharp module with <see cref="TorchBinaryTrainer"/> or <see cref="TorchMulticlassTrainer"/> as the
/// <see cref="ClassifierTraining"/> step of <see cref="ImageClassificationExperiment"/>. Early stopping never looks at
/// the reported validation split: it uses a stratified hold-out of the training split
/// (<see cref="TorchTrainerOptions.ValidationFraction"/>, <see cref="DefaultEarlyStoppingHoldout"/> when unset);
/// without early stopping the validation split is only recorded per epoch for the curves.
/// </summary>
public static class TorchClassifierTraining
{
    /// <summary>Fraction of the training split held out for early stopping when none is set.</summary>
    public const double DefaultEarlyStoppingHoldout = 0.1;

    /// <summary>Creates the training step.</summary>
    /// <param name="moduleFactory">Creates the untrained module for (binary, class count); binary modules output 2 logits.</param>
    /// <param name="options">Trainer options (copied; the seed, columns and image shape are taken as given).</param>
    public static ClassifierTraining Create(Func<bool, int, nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(moduleFactory);
        ArgumentNullException.ThrowIfNull(options);
        return (train, validation, binary, classes) =>
        {
            var o = options.Clone();
            var stopsEarly = o.EarlyStoppingPatience > 0;
            if (stopsEarly && o.ValidationFraction == 0)
                o.ValidationFraction = DefaultEarlyStoppingHoldout;
            if (!stopsEarly)
                o.ValidationFraction = 0;
            var outputs = binary ? 2 : classes.Count;
            TorchTrainerBase trainer = binary
                ? new TorchBinaryTrainer(() => moduleFactory(true, outputs), o)
                : new TorchMulticlassTrainer(() => moduleFactory(false, outputs), o);
            var model = stopsEarly ? trainer.Fit(train) : trainer.Fit(train, validation);
            using var module = model.Module; // the compiled ONNX chain is all the experiment needs
            var epochs = model.History.Epochs;
            var details = new Dictionary<string, object>
            {
                ["device"] = model.Device,
                ["optimizer"] = o.Optimizer.ToString().ToLowerInvariant(),
                ["learning_rate"] = o.LearningRate,
                ["batch_size"] = o.BatchSize,
                ["weight_decay"] = o.WeightDecay,
                ["schedule"] = Describe(o.Schedule),
                ["augmentation"] = string.Join(", ", o.Augmentation.Select(a => a.GetType().Name)),
                ["early_stopping_patience"] = o.EarlyStoppingPatience,
                ["stopped_early"] = model.History.StoppedEarly,
                ["seconds_per_epoch"] = epochs.Count == 0 ? 0.0 : epochs.Average(e => e.Seconds),
            };
            if (stopsEarly)
                details["early_stopping_holdout"] = o.ValidationFraction;
            return new TrainedClassifier(model, epochs, stopsEarly ? model.History.BestEpoch : null, model.TrainSeconds, model.ImagesPerSecond)
            {
                Details = details,
            };
        };
    }

    /// <summary>A short text for a schedule, e.g. "step(30, 0.5)" or "cosine(1E-05)".</summary>
    /// <param name="schedule">The schedule.</param>
    public static string Describe(MLPipelines.Torch.Training.TorchLearningRateSchedule schedule) => schedule switch
    {
        MLPipelines.Torch.Training.TorchLearningRateSchedule.StepSchedule s => string.Create(CultureInfo.InvariantCulture, $"step({s.StepSize}, {s.Gamma})"),
        MLPipelines.Torch.Training.TorchLearningRateSchedule.CosineSchedule c => string.Create(CultureInfo.InvariantCulture, $"cosine({c.MinLearningRate})"),
        MLPipelines.Torch.Training.TorchLearningRateSchedule.WarmupCosineSchedule w => string.Create(CultureInfo.InvariantCulture, $"warmup-cosine({w.WarmupEpochs}, {w.MinFactor})"),
        MLPipelines.Torch.Training.TorchLearningRateSchedule.PlateauSchedule p => string.Create(CultureInfo.InvariantCulture, $"plateau({p.Patience}, {p.Factor})"),
        _ => "none",
    };
}
