using MLPipelines.Mlp;

namespace MLPipelines.Trainers.Mlp;

/// <summary>
/// Options of <see cref="MlpBinaryTrainer"/>: the columns, the network shape, and (inherited from
/// <see cref="MlpTrainingSettings"/>) its training by the pure-C# MLP engine. Its defaults are the course's binary
/// network (one sigmoid hidden layer of 64, plain SGD); <see cref="MlpMulticlassOptions"/> holds the multiclass
/// trainer's. Validated once, when the trainer is created, which keeps its own copy.
/// </summary>
public class MlpOptions : MlpTrainingSettings
{
    /// <summary>The default network of <see cref="MlpOptions"/> (the training defaults are <see cref="MlpTrainingSettings.Defaults"/>).</summary>
    public static new class Defaults
    {
        /// <summary>Hidden activation: sigmoid.</summary>
        public const Activation HiddenActivation = Activation.Sigmoid;

        /// <summary>Hidden layer widths: [64].</summary>
        public static int[] HiddenLayers => [64];
    }

    /// <summary>Name of the label column (Boolean for binary, key for multiclass). The default value is "Label".</summary>
    public string LabelColumnName { get; set; } = ColumnNames.Label;

    /// <summary>Name of the known-size float vector feature column. The default value is "Features".</summary>
    public string FeatureColumnName { get; set; } = ColumnNames.Features;

    /// <summary>Units of each hidden layer, input side first. The default value is [64].</summary>
    public int[] HiddenLayers { get; set; } = Defaults.HiddenLayers;

    /// <summary>Activation of the hidden layers. The default value is <see cref="Activation.Sigmoid"/>.</summary>
    public Activation HiddenActivation { get; set; } = Defaults.HiddenActivation;

    /// <summary>
    /// Fraction of the training rows held out (stratified) as a validation set when <c>Fit</c> gets none;
    /// 0 trains on all rows. The default value is 0.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>
    /// Largest random translation, in pixels, applied to each training image every epoch (edge pixels repeated);
    /// 0 disables it. Needs image-shaped features (see <see cref="ImageShape"/>). The default value is 0.
    /// </summary>
    public int RandomShift { get; set; }

    /// <summary>
    /// Random affine augmentation (<see cref="RandomAffineAugmenter"/>, zero fill): the largest rotation in degrees.
    /// When this, <see cref="RandomZoom"/> or <see cref="RandomTranslation"/> is positive every training image gets its
    /// own random rotation, zoom and translation every epoch (exclusive with <see cref="RandomShift"/>). Needs
    /// image-shaped features. The default value is 0.
    /// </summary>
    public double RandomRotation { get; set; }

    /// <summary>Random zoom of the affine augmentation: factors uniform in [1 − RandomZoom, 1 + RandomZoom], in [0, 1). The default value is 0.</summary>
    public double RandomZoom { get; set; }

    /// <summary>Random translation of the affine augmentation, in pixels along each axis (continuous). The default value is 0.</summary>
    public double RandomTranslation { get; set; }

    /// <summary>Whether the affine augmentation is on.</summary>
    public bool UsesRandomAffine => RandomRotation > 0 || RandomZoom > 0 || RandomTranslation > 0;

    /// <summary>
    /// Shape [channels, height, width] of the images in the feature vector, used by <see cref="RandomShift"/>;
    /// null reads it from the feature column's dimensions (ML.NET's ExtractPixels records them). The default value is null.
    /// </summary>
    public int[]? ImageShape { get; set; }

    /// <summary>Receives one record per finished epoch (loss, accuracy, learning rate). The default value is null.</summary>
    public IProgress<EpochRecord>? Progress { get; set; }

    /// <summary>
    /// Seed of initialisation, shuffling, dropout and the validation hold-out; null draws it from the caller's
    /// <see cref="Microsoft.ML.MLContext"/> (so <c>new MLContext(seed: 7)</c> makes the run repeatable, as with ML.NET's own
    /// trainers), or uses <see cref="MlpTrainingSettings.Defaults.Seed"/> for a trainer created without a context.
    /// The default value is null.
    /// </summary>
    public new int? Seed { get; set; }

    /// <summary>Stops training between mini-batches (<c>Fit</c> then throws <see cref="OperationCanceledException"/>). The default value is <see cref="CancellationToken.None"/>.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>A copy of these options (arrays copied too; the runtime type kept), for a trainer to own.</summary>
    public new MlpOptions Clone()
    {
        var copy = (MlpOptions)MemberwiseClone();
        copy.HiddenLayers = (int[])HiddenLayers.Clone();
        copy.ImageShape = (int[]?)ImageShape?.Clone();
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public override void Validate()
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
        if (RandomShift > 0 && Augmenter is not null)
            throw new ArgumentException("Set either RandomShift or Augmenter, not both.", nameof(RandomShift));
        if (!(RandomRotation >= 0 && RandomRotation <= 180))
            throw new ArgumentException($"RandomRotation must be in [0, 180], got {RandomRotation}.", nameof(RandomRotation));
        if (!(RandomZoom >= 0 && RandomZoom < 1))
            throw new ArgumentException($"RandomZoom must be in [0, 1), got {RandomZoom}.", nameof(RandomZoom));
        if (!(RandomTranslation >= 0) || double.IsInfinity(RandomTranslation))
            throw new ArgumentException($"RandomTranslation must be non-negative and finite, got {RandomTranslation}.", nameof(RandomTranslation));
        if (UsesRandomAffine && (RandomShift > 0 || Augmenter is not null))
            throw new ArgumentException("Set either the random affine augmentation, RandomShift or Augmenter, not several.", nameof(RandomRotation));
        base.Validate();
    }
}

/// <summary>
/// Options of <see cref="MlpMulticlassTrainer"/>: <see cref="MlpOptions"/> with the multiclass defaults (two ReLU hidden
/// layers of 128 and 64, Adam with learning rate 0.001, batch 64), the same ones the plain-argument
/// <c>MulticlassClassification.Trainers.Mlp(...)</c> overload uses.
/// </summary>
public sealed class MlpMulticlassOptions : MlpOptions
{
    /// <summary>Creates the options with the multiclass defaults.</summary>
    public MlpMulticlassOptions()
    {
        HiddenLayers = Defaults.HiddenLayers;
        HiddenActivation = Defaults.HiddenActivation;
        Optimizer = Defaults.Optimizer;
        LearningRate = Defaults.LearningRate;
        BatchSize = Defaults.BatchSize;
    }

    /// <summary>The default values of <see cref="MlpMulticlassOptions"/> that differ from <see cref="MlpOptions"/>'s.</summary>
    public static new class Defaults
    {
        /// <summary>Hidden activation: ReLU.</summary>
        public const Activation HiddenActivation = Activation.Relu;

        /// <summary>Hidden layer widths: [128, 64].</summary>
        public static int[] HiddenLayers => [128, 64];

        /// <summary>Optimiser: Adam.</summary>
        public const OptimizerKind Optimizer = OptimizerKind.Adam;

        /// <summary>Learning rate: 0.001.</summary>
        public const double LearningRate = 0.001;

        /// <summary>Rows per mini-batch: 64.</summary>
        public const int BatchSize = 64;
    }
}
