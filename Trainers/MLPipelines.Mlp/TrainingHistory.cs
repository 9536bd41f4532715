namespace MLPipelines.Mlp;

/// <summary>Statistics of one training epoch.</summary>
/// <param name="Epoch">One-based epoch number.</param>
/// <param name="TrainLoss">Mean data loss (cross-entropy, without the L2 term) over the epoch's mini-batches, measured during training (dropout active).</param>
/// <param name="TrainAccuracy">Fraction of training rows classified correctly during the epoch's forward passes.</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation set after the epoch, or null without one.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set after the epoch, or null without one.</param>
/// <param name="LearningRate">Learning rate used during the epoch.</param>
/// <param name="Seconds">Wall-clock seconds the epoch took, validation included.</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy, double LearningRate, double Seconds);

/// <summary>What happened during training, epoch by epoch.</summary>
public sealed class TrainingHistory
{
    internal TrainingHistory(IReadOnlyList<EpochRecord> epochs, int bestEpoch, bool stoppedEarly)
    {
        Epochs = epochs;
        BestEpoch = bestEpoch;
        StoppedEarly = stoppedEarly;
    }

    /// <summary>Gets one record per epoch run, in order.</summary>
    public IReadOnlyList<EpochRecord> Epochs { get; }

    /// <summary>
    /// Gets the one-based epoch whose weights the trained network holds: with early stopping, the epoch with the
    /// lowest validation loss; otherwise the last epoch run.
    /// </summary>
    public int BestEpoch { get; }

    /// <summary>Gets a value indicating whether early stopping ended training before the last epoch.</summary>
    public bool StoppedEarly { get; }
}

/// <summary>The outcome of <see cref="MlpEngine.Train"/>.</summary>
public sealed class MlpTrainingResult
{
    internal MlpTrainingResult(MlpNetwork network, TrainingHistory history, double trainSeconds, double samplesPerSecond)
    {
        Network = network;
        History = history;
        TrainSeconds = trainSeconds;
        SamplesPerSecond = samplesPerSecond;
    }

    /// <summary>Gets the trained network.</summary>
    public MlpNetwork Network { get; }

    /// <summary>Gets the per-epoch history.</summary>
    public TrainingHistory History { get; }

    /// <summary>Gets the wall-clock seconds of the whole training loop (validation passes included).</summary>
    public double TrainSeconds { get; }

    /// <summary>Gets the training throughput: training rows processed (epochs run × rows) per second of the mini-batch passes alone (validation excluded).</summary>
    public double SamplesPerSecond { get; }
}
