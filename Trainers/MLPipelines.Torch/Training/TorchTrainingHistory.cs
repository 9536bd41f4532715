using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>Statistics of one finished training epoch.</summary>
/// <param name="Epoch">One-based epoch number.</param>
/// <param name="TrainLoss">Mean cross-entropy over the epoch's training rows, measured during training (train mode, augmented).</param>
/// <param name="TrainAccuracy">Fraction of training rows the forward passes of the epoch classified correctly.</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation rows after the epoch (eval mode), or null without validation data.</param>
/// <param name="ValidationAccuracy">Validation accuracy after the epoch, or null without validation data.</param>
/// <param name="LearningRate">The learning rate used during the epoch.</param>
/// <param name="Seconds">Wall-clock seconds of the epoch, validation included.</param>
/// <param name="ImagesPerSecond">Training rows per second of the epoch's training passes (validation excluded).</param>
public sealed record TorchEpochReport(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double LearningRate,
    double Seconds,
    double ImagesPerSecond);

/// <summary>What happened during training, epoch by epoch.</summary>
public sealed class TorchTrainingHistory
{
    internal TorchTrainingHistory(IReadOnlyList<TorchEpochReport> epochs, int bestEpoch, bool stoppedEarly, int resumedAfterEpoch)
    {
        Epochs = epochs;
        BestEpoch = bestEpoch;
        StoppedEarly = stoppedEarly;
        ResumedAfterEpoch = resumedAfterEpoch;
    }

    /// <summary>One report per epoch run (those before a resume included), in order.</summary>
    public IReadOnlyList<TorchEpochReport> Epochs { get; }

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
