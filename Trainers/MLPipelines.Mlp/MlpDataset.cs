namespace MLPipelines.Mlp;

/// <summary>A dense, row-major feature matrix with one integer class label per row.</summary>
public sealed class MlpDataset
{
    /// <summary>Initializes a new instance of the <see cref="MlpDataset"/> class. The arrays are used as they are, not copied.</summary>
    /// <param name="features">Row-major features, <paramref name="dimension"/> values per row; all finite.</param>
    /// <param name="labels">One label per row: 0 or 1 for binary output, 0..K-1 for K classes.</param>
    /// <param name="dimension">Number of features per row.</param>
    /// <exception cref="ArgumentException">The sizes disagree, a feature is NaN or infinite (the message names the row), or a label is negative.</exception>
    public MlpDataset(float[] features, int[] labels, int dimension)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (dimension <= 0)
        {
            throw new ArgumentException($"The dimension must be positive (was {dimension}).", nameof(dimension));
        }

        if (features.Length != (long)labels.Length * dimension)
        {
            throw new ArgumentException(
                $"The feature array holds {features.Length} values but {labels.Length} rows of dimension {dimension} need {(long)labels.Length * dimension}.",
                nameof(features));
        }

        for (int row = 0; row < labels.Length; row++)
        {
            ReadOnlySpan<float> x = features.AsSpan(row * dimension, dimension);
            foreach (float v in x)
            {
                if (!float.IsFinite(v))
                {
                    throw new ArgumentException($"Row {row} has a NaN or infinite feature.", nameof(features));
                }
            }

            if (labels[row] < 0)
            {
                throw new ArgumentException($"Row {row} has a negative label {labels[row]}.", nameof(labels));
            }
        }

        Features = features;
        Labels = labels;
        Dimension = dimension;
    }

    /// <summary>Gets the number of rows.</summary>
    public int Count => Labels.Length;

    /// <summary>Gets the number of features per row.</summary>
    public int Dimension { get; }

    /// <summary>Gets the row-major features.</summary>
    public float[] Features { get; }

    /// <summary>Gets the labels.</summary>
    public int[] Labels { get; }

    /// <summary>Gets the largest label.</summary>
    internal int MaxLabel() => Labels.Length == 0 ? -1 : Labels.Max();
}
