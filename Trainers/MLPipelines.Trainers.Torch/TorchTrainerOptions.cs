using MLPipelines.Torch.Training;

namespace MLPipelines.Trainers.Torch;

/// <summary>
/// Options of <see cref="TorchBinaryTrainer"/> and <see cref="TorchMulticlassTrainer"/>: the columns, the image
/// layout, the validation hold-out and the training options of the TorchSharp engine
/// (<see cref="TorchClassifierTrainer"/>). Validated once, when the trainer is created.
/// </summary>
public sealed class TorchTrainerOptions : TorchTrainingSettings
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
    /// Fraction of the training rows held out (stratified, seeded by <see cref="TorchTrainingSettings.Seed"/>) for validation when
    /// <c>Fit</c> gets no validation data; 0 trains on all rows. The default value is 0.
    /// </summary>
    public double ValidationFraction { get; set; }


















    /// <summary>Cancels training between batches (<c>Fit</c> then throws <see cref="OperationCanceledException"/>). The default value is <see cref="CancellationToken.None"/>.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>A shallow copy of these options.</summary>
    public new TorchTrainerOptions Clone() => (TorchTrainerOptions)base.Clone();

    /// <summary>
    /// Seed of the weight initialisation, shuffling, augmentation and the validation hold-out; null draws it from the
    /// caller's <see cref="Microsoft.ML.MLContext"/> (repeatable with <c>new MLContext(seed: ...)</c>, as with ML.NET's own
    /// trainers), or uses <see cref="TorchTrainingSettings.Defaults.Seed"/> for a trainer created without a context.
    /// The default value is null.
    /// </summary>
    public new int? Seed { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    /// <summary>
    /// Test-time augmentation compiled into the model: for image inputs the ONNX graph runs the network on each image
    /// and on its mirror image (flipped left-right) in one batch and averages the two logit vectors, so the saved zip
    /// (stock ML.NET) predicts with the augmentation at twice the inference cost. Training is unchanged. Needs image
    /// rows (<see cref="ImageShape"/> or a [C, H, W] feature column). The default value is false.
    /// </summary>
    public bool TestTimeHorizontalFlip { get; set; }

    /// <inheritdoc/>
    public override void Validate()
    {
        if (string.IsNullOrWhiteSpace(LabelColumnName))
            throw new ArgumentException("LabelColumnName must be a column name.", nameof(LabelColumnName));
        if (string.IsNullOrWhiteSpace(FeatureColumnName))
            throw new ArgumentException("FeatureColumnName must be a column name.", nameof(FeatureColumnName));
        if (ImageShape is not null && (ImageShape.Length != 3 || ImageShape.Any(d => d <= 0)))
            throw new ArgumentException($"ImageShape must be null or three positive sizes [C, H, W], got [{string.Join(", ", ImageShape)}].", nameof(ImageShape));
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new ArgumentException($"ValidationFraction must be in [0, 1), got {ValidationFraction}.", nameof(ValidationFraction));
        base.Validate();
    }
}
