namespace MLPipelines.Torch.Training;

/// <summary>The arithmetic of <see cref="TorchClassifierTrainer"/>'s training passes (<see cref="TorchTrainingSettings.Precision"/>).</summary>
public enum TorchPrecision
{
    /// <summary>Everything in float32.</summary>
    Float32,

    /// <summary>Convolutions and linear layers in bfloat16 with float32 master weights, batch normalisation and loss.</summary>
    BFloat16Mixed,
}

/// <summary>The optimiser <see cref="TorchClassifierTrainer"/> updates the weights with.</summary>
public enum TorchOptimizerKind
{
    /// <summary>Stochastic gradient descent with Nesterov momentum (<see cref="TorchTrainingSettings.Momentum"/>; plain SGD when it is 0).</summary>
    Sgd,

    /// <summary>Adam; <see cref="TorchTrainingSettings.WeightDecay"/> is added to the gradient (L2), as in torch.optim.Adam.</summary>
    Adam,

    /// <summary>AdamW: Adam with decoupled weight decay.</summary>
    AdamW,
}

/// <summary>
/// Learning-rate schedule of <see cref="TorchClassifierTrainer"/>, stepped once after every epoch with TorchSharp's
/// <c>torch.optim.lr_scheduler</c>. Create one with <see cref="None"/>, <see cref="Step"/>, <see cref="Cosine"/> or
/// <see cref="ReduceOnPlateau"/>.
/// </summary>
public abstract record TorchLearningRateSchedule
{
    private protected TorchLearningRateSchedule()
    {
    }

    /// <summary>A constant learning rate.</summary>
    public static TorchLearningRateSchedule None { get; } = new ConstantSchedule();

    /// <summary>Multiplies the learning rate by <paramref name="gamma"/> every <paramref name="stepSize"/> epochs (StepLR).</summary>
    /// <param name="stepSize">Epochs between decays; positive.</param>
    /// <param name="gamma">Decay factor, in (0, 1].</param>
    public static TorchLearningRateSchedule Step(int stepSize, double gamma = 0.1) => new StepSchedule(stepSize, gamma);

    /// <summary>Cosine annealing from the initial learning rate to <paramref name="minLearningRate"/> over all epochs (CosineAnnealingLR, T_max = epochs).</summary>
    /// <param name="minLearningRate">The learning rate reached after the last epoch; non-negative.</param>
    public static TorchLearningRateSchedule Cosine(double minLearningRate = 0) => new CosineSchedule(minLearningRate);

    /// <summary>
    /// Multiplies the learning rate by <paramref name="factor"/> when the validation loss (the training loss without
    /// a validation set) has not improved for <paramref name="patience"/> epochs (ReduceLROnPlateau, mode "min").
    /// </summary>
    /// <param name="patience">Epochs without improvement tolerated; non-negative.</param>
    /// <param name="factor">Decay factor, in (0, 1).</param>
    public static TorchLearningRateSchedule ReduceOnPlateau(int patience = 2, double factor = 0.1) => new PlateauSchedule(patience, factor);

    /// <summary>
    /// Linear warm-up over <paramref name="warmupEpochs"/> epochs to the initial learning rate, then cosine annealing to
    /// <paramref name="minFactor"/> times it at the end of training (the epoch-level form of a one-cycle schedule).
    /// </summary>
    /// <param name="warmupEpochs">Warm-up epochs; non-negative (0 = plain cosine).</param>
    /// <param name="minFactor">The final learning rate as a fraction of the initial one, in [0, 1].</param>
    public static TorchLearningRateSchedule WarmupCosine(int warmupEpochs = 5, double minFactor = 0.0) => new WarmupCosineSchedule(warmupEpochs, minFactor);

    internal abstract void Validate();

    /// <summary>A constant learning rate.</summary>
    public sealed record ConstantSchedule : TorchLearningRateSchedule
    {
        internal override void Validate()
        {
        }
    }

    /// <summary>StepLR: the learning rate times <paramref name="Gamma"/> every <paramref name="StepSize"/> epochs.</summary>
    /// <param name="StepSize">Epochs between decays.</param>
    /// <param name="Gamma">Decay factor.</param>
    public sealed record StepSchedule(int StepSize, double Gamma) : TorchLearningRateSchedule
    {
        internal override void Validate()
        {
            if (StepSize <= 0)
                throw new ArgumentException($"Schedule: the step size must be positive, got {StepSize}.", nameof(TorchTrainingSettings.Schedule));
            if (!(Gamma > 0 && Gamma <= 1))
                throw new ArgumentException($"Schedule: gamma must be in (0, 1], got {Gamma}.", nameof(TorchTrainingSettings.Schedule));
        }
    }

    /// <summary>CosineAnnealingLR with T_max equal to the number of epochs.</summary>
    /// <param name="MinLearningRate">The learning rate at the end of the cosine (eta_min).</param>
    public sealed record CosineSchedule(double MinLearningRate) : TorchLearningRateSchedule
    {
        internal override void Validate()
        {
            if (!(MinLearningRate >= 0) || double.IsInfinity(MinLearningRate))
                throw new ArgumentException($"Schedule: the minimum learning rate must be finite and non-negative, got {MinLearningRate}.", nameof(TorchTrainingSettings.Schedule));
        }
    }

    /// <summary>Linear warm-up, then cosine annealing (LambdaLR with <see cref="Factor"/>).</summary>
    /// <param name="WarmupEpochs">Epochs of linear warm-up.</param>
    /// <param name="MinFactor">The last epoch's learning rate as a fraction of the initial one.</param>
    public sealed record WarmupCosineSchedule(int WarmupEpochs, double MinFactor) : TorchLearningRateSchedule
    {
        /// <summary>
        /// The multiplier of the initial learning rate in the zero-based epoch <paramref name="epoch"/> of
        /// <paramref name="epochs"/>: (e + 1) / W during the warm-up, then
        /// MinFactor + (1 - MinFactor) (1 + cos(π (e - W) / (E - W - 1))) / 2, which is 1 in the first epoch after the
        /// warm-up and MinFactor in the last.
        /// </summary>
        /// <param name="epoch">Zero-based epoch.</param>
        /// <param name="epochs">Epochs of the whole training.</param>
        public double Factor(int epoch, int epochs)
        {
            if (epoch < WarmupEpochs)
                return (epoch + 1.0) / WarmupEpochs;
            int span = epochs - WarmupEpochs - 1;
            if (span <= 0)
                return 1.0;
            double t = Math.Min(1.0, (double)(epoch - WarmupEpochs) / span);
            return MinFactor + (1 - MinFactor) * 0.5 * (1 + Math.Cos(Math.PI * t));
        }

        internal override void Validate()
        {
            if (WarmupEpochs < 0)
                throw new ArgumentException($"Schedule: the warm-up epochs must be non-negative, got {WarmupEpochs}.", nameof(TorchTrainingSettings.Schedule));
            if (!(MinFactor >= 0 && MinFactor <= 1))
                throw new ArgumentException($"Schedule: the minimum factor must be in [0, 1], got {MinFactor}.", nameof(TorchTrainingSettings.Schedule));
        }
    }

    /// <summary>ReduceLROnPlateau on the validation loss (training loss without validation data).</summary>
    /// <param name="Patience">Epochs without improvement before a decay.</param>
    /// <param name="Factor">Decay factor.</param>
    public sealed record PlateauSchedule(int Patience, double Factor) : TorchLearningRateSchedule
    {
        internal override void Validate()
        {
            if (Patience < 0)
                throw new ArgumentException($"Schedule: the patience must be non-negative, got {Patience}.", nameof(TorchTrainingSettings.Schedule));
            if (!(Factor > 0 && Factor < 1))
                throw new ArgumentException($"Schedule: the factor must be in (0, 1), got {Factor}.", nameof(TorchTrainingSettings.Schedule));
        }
    }
}

/// <summary>
/// Options of <see cref="TorchClassifierTrainer"/> (ML.NET's <c>TorchTrainerOptions</c> derives from them, adding
/// columns and the hold-out). They are validated once, when the trainer is created; an
/// invalid value throws <see cref="ArgumentException"/> naming the option.
/// </summary>
public class TorchTrainingSettings
{
    /// <summary>The default values of <see cref="TorchTrainingSettings"/>, the one source every overload reads.</summary>
    public static class Defaults
    {
        /// <summary>Optimiser: Adam.</summary>
        public const TorchOptimizerKind Optimizer = TorchOptimizerKind.Adam;

        /// <summary>Learning rate: 0.001.</summary>
        public const double LearningRate = 0.001;

        /// <summary>Passes over the training data: 10.</summary>
        public const int Epochs = 10;

        /// <summary>Rows per mini-batch: 64.</summary>
        public const int BatchSize = 64;

        /// <summary>Seed: 1.</summary>
        public const int Seed = 1;

        /// <summary>Arithmetic of the training passes: <see cref="TorchPrecision.Float32"/>.</summary>
        public const TorchPrecision Precision = TorchPrecision.Float32;

        /// <summary>Channels-last (NHWC) memory format for convolutions: false.</summary>
        public const bool ChannelsLast = false;
    }

    /// <summary>
    /// The arithmetic of the training forward and backward passes. <see cref="TorchPrecision.BFloat16Mixed"/> runs the
    /// convolutions and linear layers in bfloat16 (oneDNN uses AVX512_BF16 where the CPU has it) on a bfloat16 copy of
    /// the weights, while the optimiser updates float32 master weights, batch normalisation keeps float32 parameters
    /// and statistics, and the loss is computed in float32. Validation, evaluation and the exported ONNX model use the
    /// float32 master weights. The default value is <see cref="TorchPrecision.Float32"/>.
    /// </summary>
    public TorchPrecision Precision { get; set; } = Defaults.Precision;

    /// <summary>
    /// Train with image batches and convolution weights in the channels-last (NHWC) memory format, which oneDNN's
    /// CPU convolutions prefer (no layout reorders around every convolution). Same values as the default
    /// layout up to rounding; the exported model is unchanged. The default value is false.
    /// </summary>
    public bool ChannelsLast { get; set; } = Defaults.ChannelsLast;

    /// <summary>The optimiser. The default value is <see cref="TorchOptimizerKind.Adam"/>.</summary>
    public TorchOptimizerKind Optimizer { get; set; } = Defaults.Optimizer;

    /// <summary>The initial learning rate. The default value is 0.001.</summary>
    public double LearningRate { get; set; } = Defaults.LearningRate;

    /// <summary>Weight decay (L2 for SGD and Adam, decoupled for AdamW). The default value is 0.</summary>
    public double WeightDecay { get; set; }

    /// <summary>
    /// Label smoothing of the training loss (torch's cross_entropy label_smoothing): the target puts 1 - e on the true
    /// class and e / K on every class. Validation loss and accuracy stay plain cross-entropy. The default value is 0.
    /// </summary>
    public double LabelSmoothing { get; set; }

    /// <summary>Nesterov momentum of <see cref="TorchOptimizerKind.Sgd"/> (0 = plain SGD). The default value is 0.9.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>The learning-rate schedule, stepped after every epoch. The default value is <see cref="TorchLearningRateSchedule.None"/>.</summary>
    public TorchLearningRateSchedule Schedule { get; set; } = TorchLearningRateSchedule.None;

    /// <summary>The maximum number of passes over the training data. The default value is 10.</summary>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>Rows per mini-batch. The default value is 64.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>
    /// Epochs without a lower validation loss before training stops; the weights of the epoch with the lowest
    /// validation loss are then restored (they are restored at the end of training in any case when this is set).
    /// 0 disables early stopping. Needs validation data. The default value is 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>
    /// Seed of the weight initialisation (<c>torch.random.manual_seed</c> before the module factory runs), of the
    /// shuffling, of the augmentations and of dropout. On the CPU, with the same <see cref="Threads"/>, the same seed
    /// gives identical weights. The default value is 1.
    /// </summary>
    public int Seed { get; set; } = Defaults.Seed;

    /// <summary>
    /// The number of intra-op threads libtorch uses (<c>torch.set_num_threads</c>, a process-wide setting); 0 leaves
    /// libtorch's current setting alone. Results are bit-for-bit reproducible only for the same thread count.
    /// The default value is 0.
    /// </summary>
    public int Threads { get; set; }

    /// <summary>
    /// The device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N". CUDA falls back to the CPU with a
    /// message on <see cref="Log"/> when it is not available. The default value is "auto".
    /// </summary>
    public string Device { get; set; } = "auto";

    /// <summary>
    /// Augmentations applied, in order, to every training batch on the device (never to validation data). They
    /// need image data (<see cref="TorchDataset.ImageShape"/>). Horizontal flips are not in the default because a
    /// mirrored hand sign may mean something else. The default value is an empty list.
    /// </summary>
    public IReadOnlyList<TorchAugmentation> Augmentation { get; set; } = [];

    /// <summary>
    /// MixUp / CutMix of every training batch after <see cref="Augmentation"/>; the loss then uses the mixed (soft)
    /// targets (<see cref="MixedBatch.Loss"/>, with <see cref="LabelSmoothing"/>), and the training accuracy counts each
    /// image's own label. Needs image data. null for none. The default value is null.
    /// </summary>
    public MixUpCutMix? Mixing { get; set; }

    /// <summary>
    /// A file that receives a checkpoint after every epoch (model and optimiser state, epoch, best weights and
    /// history), written atomically (temporary file, then rename); null for none. The default value is null.
    /// </summary>
    public string? CheckpointPath { get; set; }

    /// <summary>
    /// Whether training continues from <see cref="CheckpointPath"/> when that file exists (it starts afresh when
    /// it does not). A resumed run replays the learning-rate schedule and reseeds every epoch from
    /// <see cref="Seed"/>, so on the CPU it ends with the same weights as an uninterrupted one. The default value is false.
    /// </summary>
    public bool Resume { get; set; }

    /// <summary>
    /// Transfer learning: freezes and unfreezes the stages of a <see cref="Transfer.TorchBackbone"/> module per epoch
    /// (<see cref="TransferStrategy"/>); null trains every parameter of any module. The default value is null.
    /// </summary>
    public TorchTransferOptions? Transfer { get; set; }

    /// <summary>Receives one report per finished epoch. The default value is null.</summary>
    public IProgress<EpochRecord>? Progress { get; set; }

    /// <summary>Receives informational messages (device fallback, resume). The default value is null.</summary>
    public IProgress<string>? Log { get; set; }

    /// <summary>A shallow copy of these options.</summary>
    public TorchTrainingSettings Clone()
    {
        var copy = (TorchTrainingSettings)MemberwiseClone();
        copy.Transfer = Transfer?.Clone();
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public virtual void Validate()
    {
        if (!Enum.IsDefined(Optimizer))
            throw new ArgumentException($"Optimizer {Optimizer} is not one of Sgd, Adam, AdamW.", nameof(Optimizer));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentException($"LearningRate must be positive and finite, got {LearningRate}.", nameof(LearningRate));
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new ArgumentException($"WeightDecay must be non-negative and finite, got {WeightDecay}.", nameof(WeightDecay));
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1))
            throw new ArgumentException($"LabelSmoothing must be in [0, 1), got {LabelSmoothing}.", nameof(LabelSmoothing));
        if (!(Momentum >= 0 && Momentum < 1))
            throw new ArgumentException($"Momentum must be in [0, 1), got {Momentum}.", nameof(Momentum));
        if (Schedule is null)
            throw new ArgumentException("Schedule must not be null; use TorchLearningRateSchedule.None.", nameof(Schedule));
        Schedule.Validate();
        if (Epochs <= 0)
            throw new ArgumentException($"Epochs must be positive, got {Epochs}.", nameof(Epochs));
        if (BatchSize <= 0)
            throw new ArgumentException($"BatchSize must be positive, got {BatchSize}.", nameof(BatchSize));
        if (EarlyStoppingPatience < 0)
            throw new ArgumentException($"EarlyStoppingPatience must be non-negative, got {EarlyStoppingPatience}.", nameof(EarlyStoppingPatience));
        if (Threads < 0)
            throw new ArgumentException($"Threads must be non-negative (0 = libtorch's setting), got {Threads}.", nameof(Threads));
        if (Augmentation is null || Augmentation.Any(a => a is null))
            throw new ArgumentException("Augmentation must be a list without null entries (empty for none).", nameof(Augmentation));
        if (Resume && string.IsNullOrWhiteSpace(CheckpointPath))
            throw new ArgumentException("Resume needs a CheckpointPath.", nameof(Resume));
        if (CheckpointPath is not null && string.IsNullOrWhiteSpace(CheckpointPath))
            throw new ArgumentException("CheckpointPath must be a file path or null.", nameof(CheckpointPath));
        if (!Enum.IsDefined(Precision))
            throw new ArgumentException($"Precision {Precision} is not one of Float32, BFloat16Mixed.", nameof(Precision));
        Transfer?.Validate();
        string device = (Device ?? "").Trim().ToLowerInvariant();
        bool deviceOk = device is "" or "auto" or "cpu" or "cuda"
            || (device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out int index) && index >= 0);
        if (!deviceOk)
            throw new ArgumentException($"Device must be auto, cpu, cuda or cuda:N, got '{Device}'.", nameof(Device));
    }
}
