namespace MLPipelines.Torch.Training;

/// <summary>
/// Training or validation rows for <see cref="TorchClassifierTrainer"/>: a row-major float matrix [N, D] and a
/// 0-based class index per row, optionally with the image shape [C, H, W] (C × H × W = D) the rows hold.
/// </summary>
/// <remarks>
/// Rows can also be stored as 8-bit codes (<see cref="Codes"/> with a 256-entry <see cref="Levels"/> table, value =
/// Levels[code]): a quarter of the memory for image pixels k / 255, which the trainer turns into floats one batch at a
/// time on the device. The trainer sees the same float values either way.
/// </remarks>
public sealed class TorchDataset
{
    private readonly float[]? _features;

    /// <summary>Creates the dataset; the arrays are used as given, not copied.</summary>
    /// <param name="features">Row-major features, <paramref name="labels"/>.Length × <paramref name="featureCount"/> values.</param>
    /// <param name="labels">The 0-based class index of every row.</param>
    /// <param name="featureCount">Values per row (D).</param>
    /// <param name="imageShape">[C, H, W] when the rows are channels-first images (the module then receives [B, C, H, W]); null for flat vectors ([B, D]).</param>
    /// <exception cref="ArgumentException">The sizes do not agree, a label is negative, or a feature is not finite.</exception>
    public TorchDataset(float[] features, int[] labels, int featureCount, int[]? imageShape = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        CheckRows(labels, featureCount, imageShape);
        if ((long)labels.Length * featureCount != features.LongLength)
            throw new ArgumentException($"{labels.Length} rows × {featureCount} features need {(long)labels.Length * featureCount} values, got {features.LongLength}.", nameof(features));
        for (long i = 0; i < features.LongLength; i++)
        {
            if (!float.IsFinite(features[i]))
                throw new ArgumentException($"Row {i / featureCount}, feature {i % featureCount} is not finite ({features[i]}).", nameof(features));
        }
        _features = features;
        Labels = labels;
        FeatureCount = featureCount;
        ImageShape = imageShape is null ? null : (int[])imageShape.Clone();
    }

    /// <summary>
    /// Creates a dataset of 8-bit coded rows: feature j of row i is <c>levels[codes[i × D + j]]</c> (e.g. pixels k / 255
    /// stored as k). <paramref name="codes"/> and <paramref name="labels"/> are used as given, not copied.
    /// </summary>
    /// <param name="codes">Row-major codes, <paramref name="labels"/>.Length × <paramref name="featureCount"/> bytes.</param>
    /// <param name="levels">The value of every code: 256 finite floats (copied).</param>
    /// <param name="labels">The 0-based class index of every row.</param>
    /// <param name="featureCount">Values per row (D).</param>
    /// <param name="imageShape">[C, H, W] of image rows, or null for flat vectors.</param>
    /// <exception cref="ArgumentException">The sizes do not agree, a label is negative, or a level is not finite.</exception>
    public TorchDataset(byte[] codes, float[] levels, int[] labels, int featureCount, int[]? imageShape = null)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentNullException.ThrowIfNull(levels);
        CheckRows(labels, featureCount, imageShape);
        if ((long)labels.Length * featureCount != codes.LongLength)
            throw new ArgumentException($"{labels.Length} rows × {featureCount} features need {(long)labels.Length * featureCount} codes, got {codes.LongLength}.", nameof(codes));
        if (levels.Length != 256)
            throw new ArgumentException($"levels must hold 256 values (one per code), got {levels.Length}.", nameof(levels));
        if (levels.Any(v => !float.IsFinite(v)))
            throw new ArgumentException("Every level must be finite.", nameof(levels));
        Codes = codes;
        Levels = (float[])levels.Clone();
        Labels = labels;
        FeatureCount = featureCount;
        ImageShape = imageShape is null ? null : (int[])imageShape.Clone();
    }

    /// <summary>Row-major features, <see cref="Count"/> × <see cref="FeatureCount"/>.</summary>
    /// <exception cref="InvalidOperationException">The rows are stored as 8-bit <see cref="Codes"/>.</exception>
    public float[] Features => _features ?? throw new InvalidOperationException(
        "This dataset stores its rows as 8-bit codes (Codes and Levels), not as a float array.");

    /// <summary>Row-major 8-bit codes (value = <see cref="Levels"/>[code]); null when the rows are floats (<see cref="Features"/>).</summary>
    public byte[]? Codes { get; }

    /// <summary>The 256 values the <see cref="Codes"/> stand for; null when the rows are floats.</summary>
    public float[]? Levels { get; }

    /// <summary>The 0-based class index of every row.</summary>
    public int[] Labels { get; }

    /// <summary>Values per row.</summary>
    public int FeatureCount { get; }

    /// <summary>[C, H, W] for image rows, null for flat vectors.</summary>
    public int[]? ImageShape { get; }

    /// <summary>The number of rows.</summary>
    public int Count => Labels.Length;

    /// <summary>The shape one batch of <paramref name="batch"/> rows has when the module receives it.</summary>
    internal long[] BatchShape(long batch) => ImageShape is { } s ? [batch, s[0], s[1], s[2]] : [batch, FeatureCount];

    private static void CheckRows(int[] labels, int featureCount, int[]? imageShape)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (featureCount <= 0)
            throw new ArgumentException($"featureCount must be positive, got {featureCount}.", nameof(featureCount));
        if (labels.Length == 0)
            throw new ArgumentException("The dataset has no rows.", nameof(labels));
        if (imageShape is not null)
        {
            if (imageShape.Length != 3 || imageShape.Any(s => s <= 0) || (long)imageShape[0] * imageShape[1] * imageShape[2] != featureCount)
                throw new ArgumentException($"imageShape must be [C, H, W] with C × H × W = {featureCount}, got [{string.Join(", ", imageShape)}].", nameof(imageShape));
        }
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0)
                throw new ArgumentException($"Row {i} has a negative label ({labels[i]}).", nameof(labels));
        }
    }
}
