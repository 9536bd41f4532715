using MLPipelines.Torch.Training;

namespace MLPipelines.Trainers.Torch;

/// <summary>
/// Options of <see cref="TorchBinaryTrainer"/> and <see cref="TorchMulticlassTrainer"/>: the columns, the image
/// layout, the validation hold-out and the training options of the TorchSharp engine
/// (<see cref="TorchClassifierTrainer"/>). Validated once, when the trainer is created.
/// </summary>
public sealed class TorchTrainerOptions
{
    /// <summary>Name of the label column (Boolean for binary, key for multiclass). The default value is "Label".</summary>
    public string LabelColumnName { get; set; } = ColumnNames.Label;

    /// <summary>Name of the known-size float vector feature column. The default value is "Features".</summary>
    public string FeatureColumnName { get; set; } = ColumnNames.Features;

    /// <summary>
    /// [C, H, W] when the feature vector holds channels-first images: the module then receives [B, C, H, W], and the
    /// compiled ONNX graph reshapes its flat input the same way. Null infers it from the feature column's
    /// dimensions when they are three (as ML.NET's ExtractPixels gives), else the module receives [B, D].
    /// The default value is null.
    /// </summary>
    public int[]? ImageShape { get; set; }

    /// <summary>
    /// Fraction of the training rows held out (stratified, seeded by <see cref="Seed"/>) for validation when
    /// <c>Fit</c> gets no validation data; 0 trains on all rows. The default value is 0.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>The optimiser. The default value is <see cref="TorchOptimizerKind.Adam"/>.</summary>
    public TorchOptimizerKind Optimizer { get; set; } = TorchOptimizerKind.Adam;

    /// <summary>The initial learning rate. The default value is 0.001.</summary>
    public double LearningRate { get; set; } = 0.001;

    /// <summary>Weight decay (L2 for SGD and Adam, decoupled for AdamW). The default value is 0.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Nesterov momentum of SGD (0 = plain SGD). The default value is 0.9.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>The learning-rate schedule. The default value is <see cref="TorchLearningRateSchedule.None"/>.</summary>
    public TorchLearningRateSchedule Schedule { get; set; } = TorchLearningRateSchedule.None;

    /// <summary>The maximum number of epochs. The default value is 10.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Rows per mini-batch. The default value is 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>
    /// Epochs without a lower validation loss before training stops and the best weights are restored; 0 disables
    /// early stopping. Needs validation data (<see cref="ValidationFraction"/> or <c>Fit(train, validation)</c>).
    /// The default value is 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>Seed of initialisation, shuffling, augmentation, dropout and the hold-out. The default value is 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>libtorch intra-op threads (process-wide); 0 leaves the current setting. The default value is 0.</summary>
    public int Threads { get; set; }

    /// <summary>"auto", "cpu", "cuda" or "cuda:N"; CUDA falls back to the CPU with a message on <see cref="Log"/>. The default value is "auto".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Augmentations applied to every training batch (image data only). The default value is an empty list.</summary>
    public IReadOnlyList<TorchAugmentation> Augmentation { get; set; } = [];

    /// <summary>A checkpoint file written atomically after every epoch, or null. The default value is null.</summary>
    public string? CheckpointPath { get; set; }

    /// <summary>Whether training continues from <see cref="CheckpointPath"/> when it exists. The default value is false.</summary>
    public bool Resume { get; set; }

    /// <summary>Transfer-learning strategy for a Backbone module (see <see cref="TorchTrainingOptions.Transfer"/>); null for none. The default value is null.</summary>
    public TorchTransferOptions? Transfer { get; set; }

    /// <summary>Receives one report per finished epoch. The default value is null.</summary>
    public IProgress<TorchEpochReport>? Progress { get; set; }

    /// <summary>Receives informational messages such as the CUDA fallback. The default value is null.</summary>
    public IProgress<string>? Log { get; set; }

    /// <summary>Cancels training between batches (<c>Fit</c> then throws <see cref="OperationCanceledException"/>). The default value is <see cref="CancellationToken.None"/>.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>A shallow copy of these options.</summary>
    public TorchTrainerOptions Clone() => (TorchTrainerOptions)MemberwiseClone();

    /// <summary>The engine options these options describe.</summary>
    internal TorchTrainingOptions ToEngineOptions() => new()
    {
        Optimizer = Optimizer,
        LearningRate = LearningRate,
        WeightDecay = WeightDecay,
        Momentum = Momentum,
        Schedule = Schedule,
        Epochs = Epochs,
        BatchSize = BatchSize,
        EarlyStoppingPatience = EarlyStoppingPatience,
        Seed = Seed,
        Threads = Threads,
        Device = Device,
        Augmentation = Augmentation,
        CheckpointPath = CheckpointPath,
        Resume = Resume,
        Transfer = Transfer,
        Progress = Progress,
        Log = Log,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(LabelColumnName))
            throw new ArgumentException("LabelColumnName must be a column name.", nameof(LabelColumnName));
        if (string.IsNullOrWhiteSpace(FeatureColumnName))
            throw new ArgumentException("FeatureColumnName must be a column name.", nameof(FeatureColumnName));
        if (ImageShape is not null && (ImageShape.Length != 3 || ImageShape.Any(d => d <= 0)))
            throw new ArgumentException($"ImageShape must be null or three positive sizes [C, H, W], got [{string.Join(", ", ImageShape)}].", nameof(ImageShape));
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new ArgumentException($"ValidationFraction must be in [0, 1), got {ValidationFraction}.", nameof(ValidationFraction));
        // The engine validates the rest with the same option names.
        _ = new TorchClassifierTrainer(static () => null!, ToEngineOptions());
    }
}
