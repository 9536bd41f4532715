namespace MLPipelines;

/// <summary>
/// Statistics of one finished training epoch, the one per-epoch record of every engine (the pure-C# MLP, the
/// TorchSharp loop) and of the reports and charts built on them.
/// </summary>
/// <param name="Epoch">One-based epoch number.</param>
/// <param name="TrainLoss">Mean data loss (cross-entropy, without regularisation terms) over the epoch's training rows, measured during training (train mode: dropout and augmentation active).</param>
/// <param name="TrainAccuracy">Fraction of training rows the epoch's forward passes classified correctly.</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation rows after the epoch (eval mode), or null without validation data.</param>
/// <param name="ValidationAccuracy">Validation accuracy after the epoch, or null without validation data.</param>
/// <param name="LearningRate">The learning rate used during the epoch.</param>
/// <param name="Seconds">Wall-clock seconds of the epoch, validation included.</param>
/// <param name="SamplesPerSecond">Training rows per second of the epoch's training passes (validation excluded).</param>
public sealed record EpochRecord(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double LearningRate,
    double Seconds,
    double SamplesPerSecond);
