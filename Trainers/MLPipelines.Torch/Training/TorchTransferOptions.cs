using MLPipelines.Torch.Transfer;

namespace MLPipelines.Torch.Training;

/// <summary>How much of a pretrained <see cref="TorchBackbone"/> trains (the course's three transfer-learning strategies).</summary>
public enum TransferStrategy
{
    /// <summary>Feature extraction: the backbone is frozen (requires_grad false, eval mode); only the head trains.</summary>
    Frozen,

    /// <summary>Full fine-tuning: every parameter trains from the first epoch.</summary>
    FineTune,

    /// <summary>
    /// Progressive unfreezing: the head trains alone at first, then the stages are unfrozen one at a time from the
    /// output end (ResNet: layer4, layer3, ...) at <see cref="TorchTransferOptions.UnfreezeEpochs"/>.
    /// </summary>
    Progressive,
}

/// <summary>
/// Transfer-learning settings of <see cref="TorchClassifierTrainer"/> (<see cref="TorchTrainingSettings.Transfer"/>); the
/// module factory must then return a <see cref="TorchBackbone"/>. The optimiser is given every parameter from the start:
/// frozen parameters get no gradient, and TorchSharp's optimisers (like PyTorch's) skip parameters without one, so a
/// stage unfrozen later is picked up by the same optimiser (its moment estimates start then), the learning-rate schedule
/// is untouched, and checkpoints/resume work unchanged (the trainable set is a function of the epoch).
/// </summary>
public sealed class TorchTransferOptions
{
    /// <summary>The strategy. The default value is <see cref="TransferStrategy.FineTune"/>.</summary>
    public TransferStrategy Strategy { get; set; } = TransferStrategy.FineTune;

    /// <summary>
    /// For <see cref="TransferStrategy.Progressive"/>: the 1-based epochs at which the next stage (from the output end)
    /// becomes trainable, ascending; entry i unfreezes the (i+1)-th stage from the top. Stages beyond the list stay
    /// frozen. The default value is [3, 5, 7, 9, 11] (head alone for two epochs, then layer4, layer3, ... every two epochs).
    /// </summary>
    public IReadOnlyList<int> UnfreezeEpochs { get; set; } = [3, 5, 7, 9, 11];

    /// <summary>
    /// Learning rate of the new head relative to the backbone's (discriminative fine-tuning: the randomly initialised
    /// head learns faster than the pretrained layers); 1 gives every parameter the same rate. The optimiser then has two
    /// parameter groups (backbone, head) and the schedule scales both. The default value is 1.
    /// </summary>
    public double HeadLearningRateMultiplier { get; set; } = 1;

    /// <summary>
    /// For <see cref="TransferStrategy.Frozen"/> without augmentation: compute the backbone's embeddings of every image
    /// once and train the head on them, instead of running the frozen backbone in every epoch (same result up to
    /// floating-point summation order; epochs then cost almost nothing). The default value is true.
    /// </summary>
    public bool CacheFrozenFeatures { get; set; } = true;

    /// <summary>Number of trainable stages (from the output end) during <paramref name="epoch"/>.</summary>
    /// <param name="epoch">1-based epoch.</param>
    /// <param name="stageCount">Stages of the backbone.</param>
    /// <returns>A count in [0, <paramref name="stageCount"/>].</returns>
    public int TrainableStagesAt(int epoch, int stageCount) => Strategy switch
    {
        TransferStrategy.Frozen => 0,
        TransferStrategy.FineTune => stageCount,
        _ => Math.Min(stageCount, UnfreezeEpochs.Count(e => e <= epoch)),
    };

    /// <summary>A copy of these options.</summary>
    public TorchTransferOptions Clone() =>
        new()
        {
            Strategy = Strategy,
            UnfreezeEpochs = UnfreezeEpochs.ToArray(),
            HeadLearningRateMultiplier = HeadLearningRateMultiplier,
            CacheFrozenFeatures = CacheFrozenFeatures,
        };

    /// <inheritdoc/>
    public override string ToString() =>
        (Strategy == TransferStrategy.Progressive ? $"Progressive({string.Join(",", UnfreezeEpochs)})" : Strategy.ToString())
        + (HeadLearningRateMultiplier == 1 ? "" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $",head-lr x{HeadLearningRateMultiplier}"));

    /// <summary>Throws <see cref="ArgumentException"/> when the settings are invalid.</summary>
    internal void Validate()
    {
        if (!Enum.IsDefined(Strategy))
            throw new ArgumentException($"Transfer.Strategy {Strategy} is not one of Frozen, FineTune, Progressive.", nameof(TorchTrainingSettings.Transfer));
        if (UnfreezeEpochs is null || UnfreezeEpochs.Any(e => e < 1) || UnfreezeEpochs.Zip(UnfreezeEpochs.Skip(1)).Any(p => p.Second < p.First))
            throw new ArgumentException("Transfer.UnfreezeEpochs must be ascending 1-based epochs.", nameof(TorchTrainingSettings.Transfer));
        if (!(HeadLearningRateMultiplier > 0) || double.IsInfinity(HeadLearningRateMultiplier))
            throw new ArgumentException(
                $"Transfer.HeadLearningRateMultiplier must be positive and finite, got {HeadLearningRateMultiplier}.", nameof(TorchTrainingSettings.Transfer));
    }
}
