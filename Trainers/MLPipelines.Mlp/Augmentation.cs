namespace MLPipelines.Mlp;

/// <summary>
/// Changes the rows of a training mini-batch in place before the forward pass (data augmentation). The engine
/// calls it only for training batches, never for validation or prediction, with its own seeded generator, so
/// training stays deterministic for a seed. Implementations may keep scratch buffers: one instance per training.
/// </summary>
public interface IBatchAugmenter
{
    /// <summary>Augments <paramref name="rows"/> rows of <paramref name="dimension"/> features stored row-major in <paramref name="batch"/>.</summary>
    /// <param name="batch">The mini-batch, modified in place.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="dimension">Features per row.</param>
    /// <param name="random">Uniform values in [0, 1) from the engine's seeded generator.</param>
    void Augment(Span<float> batch, int rows, int dimension, Func<double> random);
}

/// <summary>
/// Translates every image of the batch by a random whole number of pixels in [-MaxShift, MaxShift] along each
/// axis, repeating the edge pixels into the uncovered border. Rows are images stored channel-first [C, H, W].
/// </summary>
public sealed class RandomShiftAugmenter : IBatchAugmenter
{
    private readonly float[] _scratch;

    /// <summary>Creates the augmenter for images of shape [<paramref name="channels"/>, <paramref name="height"/>, <paramref name="width"/>].</summary>
    /// <param name="channels">Channels per image.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="maxShift">Largest translation in pixels (at least 1, less than the image side).</param>
    public RandomShiftAugmenter(int channels, int height, int width, int maxShift)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Image shape must be positive, got [{channels}, {height}, {width}].");
        if (maxShift < 1 || maxShift >= Math.Min(height, width))
            throw new ArgumentOutOfRangeException(nameof(maxShift), maxShift, $"Shift must be in [1, {Math.Min(height, width) - 1}].");
        Channels = channels;
        Height = height;
        Width = width;
        MaxShift = maxShift;
        _scratch = new float[channels * height * width];
    }

    /// <summary>Channels per image.</summary>
    public int Channels { get; }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Largest translation in pixels.</summary>
    public int MaxShift { get; }

    /// <inheritdoc />
    public void Augment(Span<float> batch, int rows, int dimension, Func<double> random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (dimension != _scratch.Length)
            throw new ArgumentException($"Rows have {dimension} features but images [{Channels}, {Height}, {Width}] have {_scratch.Length}.", nameof(dimension));
        var span = 2 * MaxShift + 1;
        for (var r = 0; r < rows; r++)
        {
            var dy = (int)(random() * span) - MaxShift;
            var dx = (int)(random() * span) - MaxShift;
            if (dx != 0 || dy != 0)
                Shift(batch.Slice(r * dimension, dimension), dy, dx);
        }
    }

    /// <summary>Moves the image content by (<paramref name="dy"/>, <paramref name="dx"/>) pixels: output(y, x) = input(clamp(y - dy), clamp(x - dx)).</summary>
    internal void Shift(Span<float> image, int dy, int dx)
    {
        image.CopyTo(_scratch);
        for (var c = 0; c < Channels; c++)
        {
            var plane = c * Height * Width;
            for (var y = 0; y < Height; y++)
            {
                var sy = Math.Clamp(y - dy, 0, Height - 1);
                var dst = image.Slice(plane + y * Width, Width);
                var src = _scratch.AsSpan(plane + sy * Width, Width);
                for (var x = 0; x < Width; x++)
                    dst[x] = src[Math.Clamp(x - dx, 0, Width - 1)];
            }
        }
    }
}
