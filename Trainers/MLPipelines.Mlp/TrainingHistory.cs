namespace MLPipelines.Mlp;

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
