namespace MLPipelines.Data;

/// <summary>
/// Single-channel images held in memory: <see cref="Pixels"/> is N×H×W floats in C order (image, row, column),
/// <see cref="Labels"/> holds class indices into <see cref="ClassNames"/>.
/// </summary>
public sealed class InMemoryImageDataset
{
    /// <summary>Creates a dataset (the arrays are used as given, not copied).</summary>
    /// <param name="pixels">N×H×W pixel values.</param>
    /// <param name="labels">N class indices.</param>
    /// <param name="height">Image height H.</param>
    /// <param name="width">Image width W.</param>
    /// <param name="classNames">Class names; labels index into it.</param>
    /// <exception cref="ArgumentException">Sizes do not agree or a label is out of range.</exception>
    public InMemoryImageDataset(float[] pixels, int[] labels, int height, int width, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)labels.Length * height * width != pixels.LongLength)
            throw new ArgumentException($"pixels has {pixels.LongLength} values but {labels.Length} images of {height}x{width} need {(long)labels.Length * height * width}.", nameof(pixels));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new ArgumentException($"Label {labels[i]} of image {i} is outside the {classNames.Count} classes.", nameof(labels));
        Pixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        ClassNames = classNames;
    }

    /// <summary>N×H×W pixel values, C order.</summary>
    public float[] Pixels { get; }

    /// <summary>Class index of each image.</summary>
    public int[] Labels { get; }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Values per image (H×W).</summary>
    public int FeatureLength => Height * Width;

    /// <summary>The pixels of one image.</summary>
    /// <param name="index">Image index.</param>
    /// <returns>H×W values.</returns>
    public ReadOnlySpan<float> GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return Pixels.AsSpan(index * FeatureLength, FeatureLength);
    }

    /// <summary>Returns a copy resized to <paramref name="height"/>×<paramref name="width"/> with <see cref="ResizeBilinear"/>.</summary>
    /// <param name="height">New height.</param>
    /// <param name="width">New width.</param>
    /// <returns>A new dataset (or this one when the size is unchanged).</returns>
    public InMemoryImageDataset Resize(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (height == Height && width == Width) return this;
        var dst = new float[(long)Count * height * width];
        for (int i = 0; i < Count; i++)
            ResizeBilinear(GetImage(i), Height, Width, dst.AsSpan(i * height * width, height * width), height, width);
        return new InMemoryImageDataset(dst, (int[])Labels.Clone(), height, width, ClassNames);
    }

    /// <summary>Keeps only some classes, relabelled 0..k-1 in the order given.</summary>
    /// <param name="classes">Class names to keep.</param>
    /// <returns>A new dataset.</returns>
    /// <exception cref="ArgumentException">A class is unknown or repeated.</exception>
    public InMemoryImageDataset Filter(IEnumerable<string> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        var keep = classes.ToList();
        var map = new Dictionary<int, int>();
        for (int k = 0; k < keep.Count; k++)
        {
            int old = IndexOf(ClassNames, keep[k]);
            if (old < 0) throw new ArgumentException($"Class '{keep[k]}' is not one of {string.Join(", ", ClassNames)}.", nameof(classes));
            if (!map.TryAdd(old, k)) throw new ArgumentException($"Class '{keep[k]}' is listed twice.", nameof(classes));
        }
        var idx = Enumerable.Range(0, Count).Where(i => map.ContainsKey(Labels[i])).ToArray();
        var px = new float[(long)idx.Length * FeatureLength];
        var lab = new int[idx.Length];
        for (int j = 0; j < idx.Length; j++)
        {
            GetImage(idx[j]).CopyTo(px.AsSpan(j * FeatureLength, FeatureLength));
            lab[j] = map[Labels[idx[j]]];
        }
        return new InMemoryImageDataset(px, lab, Height, Width, keep.AsReadOnly());
    }

    /// <summary>
    /// Bilinear resampling with half-pixel centres (the convention of <c>align_corners=False</c> in PyTorch's
    /// <c>interpolate</c> and of OpenCV's <c>INTER_LINEAR</c>): output pixel (y, x) samples the source at
    /// ((y + 0.5)·H/h − 0.5, (x + 0.5)·W/w − 0.5), clamped to the image, and blends the four neighbours.
    /// There is no antialiasing, so strong downscaling (more than 2×) skips source pixels.
    /// </summary>
    /// <param name="src">Source H×W values.</param>
    /// <param name="srcHeight">H.</param>
    /// <param name="srcWidth">W.</param>
    /// <param name="dst">Destination h×w values.</param>
    /// <param name="dstHeight">h.</param>
    /// <param name="dstWidth">w.</param>
    public static void ResizeBilinear(ReadOnlySpan<float> src, int srcHeight, int srcWidth, Span<float> dst, int dstHeight, int dstWidth)
    {
        if (src.Length != srcHeight * srcWidth) throw new ArgumentException("Source length does not match its size.", nameof(src));
        if (dst.Length != dstHeight * dstWidth) throw new ArgumentException("Destination length does not match its size.", nameof(dst));
        double sy = (double)srcHeight / dstHeight, sx = (double)srcWidth / dstWidth;
        for (int y = 0; y < dstHeight; y++)
        {
            double fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, srcHeight - 1);
            int y0 = (int)fy;
            int y1 = Math.Min(y0 + 1, srcHeight - 1);
            float wy = (float)(fy - y0);
            for (int x = 0; x < dstWidth; x++)
            {
                double fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, srcWidth - 1);
                int x0 = (int)fx;
                int x1 = Math.Min(x0 + 1, srcWidth - 1);
                float wx = (float)(fx - x0);
                float top = src[y0 * srcWidth + x0] * (1 - wx) + src[y0 * srcWidth + x1] * wx;
                float bottom = src[y1 * srcWidth + x0] * (1 - wx) + src[y1 * srcWidth + x1] * wx;
                dst[y * dstWidth + x] = top * (1 - wy) + bottom * wy;
            }
        }
    }

    private static int IndexOf(IReadOnlyList<string> list, string s)
    {
        for (int i = 0; i < list.Count; i++) if (string.Equals(list[i], s, StringComparison.Ordinal)) return i;
        return -1;
    }
}
