using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>What happened during training, epoch by epoch.</summary>
public sealed class TorchTrainingHistory
{
    internal TorchTrainingHistory(IReadOnlyList<EpochRecord> epochs, int bestEpoch, bool stoppedEarly, int resumedAfterEpoch)
    {
        Epochs = epochs;
        BestEpoch = bestEpoch;
        StoppedEarly = stoppedEarly;
        ResumedAfterEpoch = resumedAfterEpoch;
    }

    /// <summary>One report per epoch run (those before a resume included), in order.</summary>
    public IReadOnlyList<EpochRecord> Epochs { get; }

    /// <summary>
    /// The one-based epoch whose weights the trained module holds: with early stopping, the epoch with the lowest
    /// validation loss; otherwise the last epoch run.
    /// </summary>
    public int BestEpoch { get; }

    /// <summary>Whether early stopping ended training before the last epoch.</summary>
    public bool StoppedEarly { get; }

    /// <summary>The epoch of the checkpoint training resumed from, or 0 when it started afresh.</summary>
    public int ResumedAfterEpoch { get; }
}

/// <summary>The outcome of <see cref="TorchClassifierTrainer.Train"/>.</summary>
public sealed class TorchTrainingResult
{
    internal TorchTrainingResult(nn.Module<Tensor, Tensor> module, TorchTrainingHistory history, double trainSeconds, double imagesPerSecond, string device)
    {
        Module = module;
        History = history;
        TrainSeconds = trainSeconds;
        ImagesPerSecond = imagesPerSecond;
        Device = device;
    }

    /// <summary>The trained module, on the CPU and in eval mode. The caller owns it (dispose it when done).</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>The per-epoch history.</summary>
    public TorchTrainingHistory History { get; }

    /// <summary>Wall-clock seconds of the training loop of this call (validation included).</summary>
    public double TrainSeconds { get; }

    /// <summary>Training rows per second over the training passes of this call (validation excluded); 0 when no epoch ran.</summary>
    public double ImagesPerSecond { get; }

    /// <summary>The device training ran on, e.g. "cpu" or "cuda:0".</summary>
    public string Device { get; }
}
