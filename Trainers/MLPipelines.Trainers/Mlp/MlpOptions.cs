using MLPipelines.Mlp;

namespace MLPipelines.Trainers.Mlp;

/// <summary>
/// Options of <see cref="MlpBinaryTrainer"/> and <see cref="MlpMulticlassTrainer"/>: the network shape and its
/// training by the pure-C# MLP engine. Validated once, when the trainer is created.
/// </summary>
public sealed class MlpOptions
{
    /// <summary>Name of the label column (Boolean for binary, key for multiclass). The default value is "Label".</summary>
    public string LabelColumnName { get; set; } = ColumnNames.Label;

    /// <summary>Name of the known-size float vector feature column. The default value is "Features".</summary>
    public string FeatureColumnName { get; set; } = ColumnNames.Features;

    /// <summary>Units of each hidden layer, input side first. The default value is [64].</summary>
    public int[] HiddenLayers { get; set; } = [64];

    /// <summary>Activation of the hidden layers. The default value is <see cref="Activation.Sigmoid"/>.</summary>
    public Activation HiddenActivation { get; set; } = Activation.Sigmoid;

    /// <summary>Number of passes over the training data. The default value is 50.</summary>
    public int Epochs { get; set; } = 50;

    /// <summary>Rows per mini-batch. The default value is 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Initial learning rate. The default value is 0.1.</summary>
    public double LearningRate { get; set; } = 0.1;

    /// <summary>Optimiser. The default value is <see cref="OptimizerKind.Sgd"/> (plain mini-batch gradient descent).</summary>
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.Sgd;

    /// <summary>Momentum coefficient of <see cref="OptimizerKind.Momentum"/>. The default value is 0.9.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Adam's first-moment decay. The default value is 0.9.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Adam's second-moment decay. The default value is 0.999.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>L2 weight decay coefficient. The default value is 0.</summary>
    public double L2 { get; set; }

    /// <summary>Dropout probability on hidden layers during training. The default value is 0.</summary>
    public double Dropout { get; set; }

    /// <summary>Learning-rate schedule. The default value is <see cref="LearningRateSchedule.Constant"/>.</summary>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;

    /// <summary>Epochs between decays of the step schedule. The default value is 10.</summary>
    public int StepSize { get; set; } = 10;

    /// <summary>Decay factor of the step schedule. The default value is 0.1.</summary>
    public double Gamma { get; set; } = 0.1;

    /// <summary>
    /// Fraction of the training rows held out (stratified) as a validation set when <c>Fit</c> gets none;
    /// 0 trains on all rows. The default value is 0.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>
    /// Epochs without validation-loss improvement before training stops and the best weights are restored;
    /// 0 disables early stopping. Needs a validation set. The default value is 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>
    /// Largest random translation, in pixels, applied to each training image every epoch (edge pixels repeated);
    /// 0 disables it. Needs image-shaped features (see <see cref="ImageShape"/>). The default value is 0.
    /// </summary>
    public int RandomShift { get; set; }

    /// <summary>
    /// Shape [channels, height, width] of the images in the feature vector, used by <see cref="RandomShift"/>;
    /// null reads it from the feature column's dimensions (ML.NET's ExtractPixels records them). The default value is null.
    /// </summary>
    public int[]? ImageShape { get; set; }

    /// <summary>Seed of weight initialisation, shuffling, dropout and the validation hold-out. The default value is 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Receives one record per finished epoch (loss, accuracy, learning rate). The default value is null.</summary>
    public IProgress<EpochRecord>? Progress { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(LabelColumnName))
            throw new ArgumentException("LabelColumnName must be a column name.", nameof(LabelColumnName));
        if (string.IsNullOrWhiteSpace(FeatureColumnName))
            throw new ArgumentException("FeatureColumnName must be a column name.", nameof(FeatureColumnName));
        if (HiddenLayers is null || HiddenLayers.Any(h => h <= 0))
            throw new ArgumentException("HiddenLayers must be positive unit counts (an empty array gives a linear model).", nameof(HiddenLayers));
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new ArgumentException($"ValidationFraction must be in [0, 1), got {ValidationFraction}.", nameof(ValidationFraction));
        if (RandomShift < 0)
            throw new ArgumentException($"RandomShift must be 0 (off) or a number of pixels, got {RandomShift}.", nameof(RandomShift));
        if (ImageShape is not null && (ImageShape.Length != 3 || ImageShape.Any(v => v <= 0)))
            throw new ArgumentException("ImageShape must be [channels, height, width] with positive values.", nameof(ImageShape));
        ToSettings().Validate();
    }

    /// <summary>The engine's training settings for these options.</summary>
    internal MlpTrainingSettings ToSettings() => new()
    {
        Epochs = Epochs,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        Optimizer = Optimizer,
        Momentum = Momentum,
        Beta1 = Beta1,
        Beta2 = Beta2,
        L2 = L2,
        Dropout = Dropout,
        Schedule = Schedule,
        StepSize = StepSize,
        Gamma = Gamma,
        EarlyStoppingPatience = EarlyStoppingPatience,
        Seed = Seed,
    };
}
