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

/// <summary>
/// A random affine map per image, like torchvision's RandomAffine and the TorchSharp engine's <c>RandomAffine</c>:
/// a rotation by an angle θ uniform in ±<see cref="MaxDegrees"/>, a zoom s uniform in
/// [<see cref="MinScale"/>, <see cref="MaxScale"/>] and a translation t uniform in ±<see cref="MaxTranslate"/> pixels
/// along each axis, about the image centre. In pixel coordinates centred on the image, the output pixel p reads the
/// input at R(−θ) (p − t) / s with bilinear interpolation; neighbours outside the image count as <see cref="Fill"/>
/// (torch's grid_sample with zero padding and align_corners false when the fill is 0). Each image draws θ, s, t_x,
/// t_y in that order. Rows are images stored channel-first [C, H, W].
/// </summary>
public sealed class RandomAffineAugmenter : IBatchAugmenter
{
    private readonly float[] _scratch;

    /// <summary>Creates the augmenter for images of shape [<paramref name="channels"/>, <paramref name="height"/>, <paramref name="width"/>].</summary>
    /// <param name="channels">Channels per image.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="maxDegrees">Largest absolute rotation in degrees, in [0, 180].</param>
    /// <param name="minScale">Smallest zoom factor, positive.</param>
    /// <param name="maxScale">Largest zoom factor, at least <paramref name="minScale"/>.</param>
    /// <param name="maxTranslate">Largest translation in pixels, non-negative.</param>
    /// <param name="fill">The value of pixels outside the image (0 is the mean pixel of standardised features).</param>
    public RandomAffineAugmenter(int channels, int height, int width, double maxDegrees = 12, double minScale = 0.9, double maxScale = 1.1, double maxTranslate = 2.5, float fill = 0f)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Image shape must be positive, got [{channels}, {height}, {width}].");
        if (!(maxDegrees >= 0 && maxDegrees <= 180))
            throw new ArgumentOutOfRangeException(nameof(maxDegrees), maxDegrees, "Must be in [0, 180].");
        if (!(minScale > 0) || double.IsInfinity(minScale))
            throw new ArgumentOutOfRangeException(nameof(minScale), minScale, "Must be positive and finite.");
        if (!(maxScale >= minScale) || double.IsInfinity(maxScale))
            throw new ArgumentOutOfRangeException(nameof(maxScale), maxScale, "Must be finite and at least minScale.");
        if (!(maxTranslate >= 0) || double.IsInfinity(maxTranslate))
            throw new ArgumentOutOfRangeException(nameof(maxTranslate), maxTranslate, "Must be non-negative and finite.");
        Channels = channels;
        Height = height;
        Width = width;
        MaxDegrees = maxDegrees;
        MinScale = minScale;
        MaxScale = maxScale;
        MaxTranslate = maxTranslate;
        Fill = fill;
        _scratch = new float[channels * height * width];
    }

    /// <summary>Channels per image.</summary>
    public int Channels { get; }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Largest absolute rotation in degrees.</summary>
    public double MaxDegrees { get; }

    /// <summary>Smallest zoom factor.</summary>
    public double MinScale { get; }

    /// <summary>Largest zoom factor.</summary>
    public double MaxScale { get; }

    /// <summary>Largest translation in pixels.</summary>
    public double MaxTranslate { get; }

    /// <summary>Value of pixels outside the image.</summary>
    public float Fill { get; }

    /// <inheritdoc />
    public void Augment(Span<float> batch, int rows, int dimension, Func<double> random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (dimension != _scratch.Length)
            throw new ArgumentException($"Rows have {dimension} features but images [{Channels}, {Height}, {Width}] have {_scratch.Length}.", nameof(dimension));
        double limit = MaxDegrees * Math.PI / 180.0;
        for (var r = 0; r < rows; r++)
        {
            double angle = -limit + 2 * limit * random();
            double scale = MinScale + (MaxScale - MinScale) * random();
            double tx = MaxTranslate * (2 * random() - 1);
            double ty = MaxTranslate * (2 * random() - 1);
            Transform(batch.Slice(r * dimension, dimension), angle, scale, tx, ty);
        }
    }

    /// <summary>Applies one map in place: rotation <paramref name="angle"/> (radians), zoom <paramref name="scale"/>, translation (<paramref name="tx"/>, <paramref name="ty"/>) pixels.</summary>
    internal void Transform(Span<float> image, double angle, double scale, double tx, double ty)
    {
        image.CopyTo(_scratch);
        double cos = Math.Cos(angle) / scale, sin = Math.Sin(angle) / scale;
        double cx = (Width - 1) / 2.0, cy = (Height - 1) / 2.0;
        for (var y = 0; y < Height; y++)
        {
            double py = y - cy - ty;
            for (var x = 0; x < Width; x++)
            {
                double px = x - cx - tx;
                double sx = cos * px + sin * py + cx;
                double sy = -sin * px + cos * py + cy;
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                float fx = (float)(sx - x0), fy = (float)(sy - y0);
                for (var c = 0; c < Channels; c++)
                {
                    int plane = c * Height * Width;
                    float v00 = Pixel(plane, y0, x0), v01 = Pixel(plane, y0, x0 + 1);
                    float v10 = Pixel(plane, y0 + 1, x0), v11 = Pixel(plane, y0 + 1, x0 + 1);
                    float top = v00 + (v01 - v00) * fx;
                    float bottom = v10 + (v11 - v10) * fx;
                    image[plane + y * Width + x] = top + (bottom - top) * fy;
                }
            }
        }
    }

    private float Pixel(int plane, int y, int x) =>
        (uint)y < (uint)Height && (uint)x < (uint)Width ? _scratch[plane + y * Width + x] : Fill;
}
