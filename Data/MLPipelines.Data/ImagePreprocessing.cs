using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace MLPipelines.Data;

/// <summary>A row for <see cref="DataOperationsCatalog.LoadFromEnumerable{TRow}(IEnumerable{TRow}, SchemaDefinition)"/>: an image path and its label.</summary>
public sealed class ImageInput
{
    /// <summary>Path of the image file (absolute, or relative to the working directory).</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>Class name.</summary>
    public string Label { get; set; } = "";

    /// <summary>Creates rows from an image-folder dataset.</summary>
    /// <param name="items">Dataset items.</param>
    /// <returns>One row per item.</returns>
    public static IEnumerable<ImageInput> From(IEnumerable<ImageItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return items.Select(i => new ImageInput { ImagePath = i.Path, Label = i.Label });
    }
}

/// <summary>Options of <see cref="ImagePreprocessing"/>.</summary>
public sealed class ImagePreprocessingOptions
{
    /// <summary>Column holding image paths. Default <c>ImagePath</c>.</summary>
    public string InputColumnName { get; init; } = "ImagePath";

    /// <summary>Column receiving the float feature vector. Default <c>Features</c>.</summary>
    public string OutputColumnName { get; init; } = "Features";

    /// <summary>Images are resized to ImageSize × ImageSize. Default 28.</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Convert to one grey channel (otherwise R, G, B). Default <see langword="true"/>.</summary>
    public bool Grayscale { get; init; } = true;

    /// <summary>Interleave channels ([H, W, C]) instead of channels-first ([C, H, W]). Default <see langword="false"/>.</summary>
    public bool Interleave { get; init; }

    /// <summary>Pixel scale: feature = (pixel + <see cref="Offset"/>) × Scale. Default 1/255.</summary>
    public float Scale { get; init; } = 1f / 255f;

    /// <summary>Pixel offset added before scaling. Default 0.</summary>
    public float Offset { get; init; }

    /// <summary>How non-square images are fitted; default <see cref="ImageResizingEstimator.ResizingKind.IsoCrop"/> (ML.NET's default: uniform scale, centre crop).</summary>
    public ImageResizingEstimator.ResizingKind Resizing { get; init; } = ImageResizingEstimator.ResizingKind.IsoCrop;

    /// <summary>
    /// Area filter for shrinking: when above 1, images are resized to (ImageSize × Supersampling)² and each
    /// Supersampling × Supersampling block of extracted pixels is averaged (an ONNX AveragePool step in the chain,
    /// see <see cref="AreaDownsampling"/>). ML.NET 6's resize samples the source without averaging when it shrinks a
    /// photo a lot, which aliases fine detail; resizing to a slightly smaller size and averaging blocks gives the
    /// anti-aliased pixels a box filter would. The output keeps the shape [Channels, ImageSize, ImageSize]. The
    /// default value is 1 (ML.NET's resize only).
    /// </summary>
    public int Supersampling { get; init; } = 1;

    /// <summary>Number of channels produced (1 for grayscale, else 3).</summary>
    public int Channels => Grayscale ? 1 : 3;

    /// <summary>Length of the feature vector: Channels × ImageSize × ImageSize.</summary>
    public int FeatureLength => Channels * ImageSize * ImageSize;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(InputColumnName))
            throw new ArgumentException("InputColumnName must not be empty.", nameof(InputColumnName));
        if (string.IsNullOrWhiteSpace(OutputColumnName))
            throw new ArgumentException("OutputColumnName must not be empty.", nameof(OutputColumnName));
        if (string.Equals(InputColumnName, OutputColumnName, StringComparison.Ordinal))
            throw new ArgumentException($"OutputColumnName must differ from InputColumnName ('{InputColumnName}').", nameof(OutputColumnName));
        if (ImageSize is < 1 or > 4096)
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be in 1..4096.");
        if (Supersampling is < 1 or > 8)
            throw new ArgumentOutOfRangeException(nameof(Supersampling), Supersampling, "Supersampling must be in 1..8.");
        if (Supersampling > 1 && Interleave)
            throw new ArgumentException("Supersampling above 1 needs channels-first pixels (Interleave false).", nameof(Supersampling));
        if ((long)ImageSize * Supersampling > 4096)
            throw new ArgumentOutOfRangeException(nameof(Supersampling), Supersampling, $"ImageSize × Supersampling must be at most 4096 (ImageSize is {ImageSize}).");
        if (!float.IsFinite(Scale) || Scale == 0)
            throw new ArgumentOutOfRangeException(nameof(Scale), Scale, "Scale must be finite and non-zero.");
        if (!float.IsFinite(Offset))
            throw new ArgumentOutOfRangeException(nameof(Offset), Offset, "Offset must be finite.");
    }
}

/// <summary>
/// Image preprocessing as an ML.NET ImageAnalytics chain, so training and serving apply the same transforms:
/// LoadImages → ResizeImages → (ConvertToGrayscale) → ExtractPixels → DropColumns (of the intermediate image column);
/// with <see cref="ImagePreprocessingOptions.Supersampling"/> k above 1 the resize goes to k × ImageSize and an
/// ApplyOnnxModel step averages k × k blocks before the DropColumns (stock transforms only, so the chain saves and
/// loads with plain ML.NET). Grayscale output takes the red channel of the grey image (all three channels are equal), giving [1, H, W].
/// </summary>
public static class ImagePreprocessing
{
    /// <summary>Name of the intermediate image column for the given options.</summary>
    /// <param name="o">Options.</param>
    /// <returns><c>{OutputColumnName}_Image</c>.</returns>
    public static string ImageColumnName(ImagePreprocessingOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return o.OutputColumnName + "_Image";
    }

    /// <summary>Builds the preprocessing estimator.</summary>
    /// <param name="ml">ML.NET context.</param>
    /// <param name="o">Options; defaults when <see langword="null"/>.</param>
    /// <returns>An estimator that maps the path column to a float vector of <see cref="ImagePreprocessingOptions.FeatureLength"/> values.</returns>
    public static IEstimator<ITransformer> Create(MLContext ml, ImagePreprocessingOptions? o = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        return Create(ml.Transforms, o);
    }

    /// <summary>Builds the preprocessing estimator from a transforms catalog (for catalog extension methods).</summary>
    /// <param name="transforms">The catalog, e.g. <c>mlContext.Transforms</c>.</param>
    /// <param name="o">Options; defaults when <see langword="null"/>.</param>
    /// <returns>An estimator that maps the path column to a float vector of <see cref="ImagePreprocessingOptions.FeatureLength"/> values.</returns>
    public static IEstimator<ITransformer> Create(TransformsCatalog transforms, ImagePreprocessingOptions? o = null)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        o ??= new ImagePreprocessingOptions();
        o.Validate();
        string img = ImageColumnName(o);
        int k = o.Supersampling, size = o.ImageSize * k;
        string extracted = k > 1 ? o.OutputColumnName + AreaDownsampling.ColumnSuffix : o.OutputColumnName;
        IEstimator<ITransformer> chain = transforms.LoadImages(img, imageFolder: null, inputColumnName: o.InputColumnName)
            .Append(transforms.ResizeImages(img, size, size, img, o.Resizing));
        if (o.Grayscale)
            chain = chain.Append(transforms.ConvertToGrayscale(img, img));
        chain = chain
            .Append(transforms.ExtractPixels(extracted, img,
                colorsToExtract: o.Grayscale ? ImagePixelExtractingEstimator.ColorBits.Red : ImagePixelExtractingEstimator.ColorBits.Rgb,
                orderOfExtraction: ImagePixelExtractingEstimator.ColorsOrder.ARGB,
                interleavePixelColors: o.Interleave, offsetImage: o.Offset, scaleImage: o.Scale, outputAsFloatArray: true));
        if (k == 1)
            return chain.Append(transforms.DropColumns(img));
        var graph = new MemoryStream(AreaDownsampling.Graph(extracted, o.OutputColumnName, o.Channels, o.ImageSize, k), writable: false);
        return chain
            .Append(transforms.ApplyOnnxModel([o.OutputColumnName], [extracted], graph))
            .Append(transforms.DropColumns(img, extracted));
    }

    /// <summary>
    /// Runs the preprocessing on image files and returns all feature vectors in one contiguous array
    /// (row i occupies [i × D, (i + 1) × D), D = <see cref="ImagePreprocessingOptions.FeatureLength"/>), for
    /// engines that train outside ML.NET. Missing files are reported before any work starts; an
    /// image ML.NET cannot decode fails with an error that names that file (ML.NET's own error does not).
    /// A JPEG that libjpeg can still partly decode (e.g. a few bytes cut off at the end) is not an error: the
    /// missing part comes out grey, as in other decoders.
    /// </summary>
    /// <param name="ml">ML.NET context.</param>
    /// <param name="paths">Image files.</param>
    /// <param name="o">Options; defaults when <see langword="null"/>.</param>
    /// <param name="progress">Receives the number of images done (about every 1% and at the end).</param>
    /// <param name="cancellationToken">Stops between images.</param>
    /// <returns>N × D floats.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist (the message names it).</exception>
    /// <exception cref="InvalidDataException">A file cannot be decoded (the message names it).</exception>
    public static float[] ExtractFeatures(MLContext ml, IReadOnlyList<string> paths, ImagePreprocessingOptions? o = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(paths);
        o ??= new ImagePreprocessingOptions();
        o.Validate();
        int d = o.FeatureLength;
        var result = new float[(long)paths.Count * d];
        if (paths.Count == 0)
        {
            progress?.Report(0);
            return result;
        }
        for (int i = 0; i < paths.Count; i++)
        {
            if (string.IsNullOrEmpty(paths[i])) throw new ArgumentException($"Image path {i} is empty.", nameof(paths));
            if (!File.Exists(paths[i])) throw new FileNotFoundException($"Image file '{paths[i]}' does not exist.", paths[i]);
        }

        var rows = paths.Select(p => new ImageInput { ImagePath = p });
        var schema = SchemaDefinition.Create(typeof(ImageInput));
        schema[nameof(ImageInput.ImagePath)].ColumnName = o.InputColumnName;
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        var transformed = Create(ml, o).Fit(data).Transform(data);
        var col = transformed.Schema[o.OutputColumnName];
        int step = Math.Max(1, paths.Count / 100);
        int row = 0;
        try
        {
            using var cursor = transformed.GetRowCursor([col]);
            var getter = cursor.GetGetter<VBuffer<float>>(col);
            var buf = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                cancellationToken.ThrowIfCancellationRequested();
                getter(ref buf);
                if (buf.Length != d)
                    throw new InvalidDataException($"Image '{paths[row]}' gave {buf.Length} values instead of {d}.");
                buf.CopyTo(result.AsSpan(row * d, d));
                row++;
                if (row % step == 0 || row == paths.Count) progress?.Report(row);
            }
        }
        catch (Exception ex) when (ex is not InvalidDataException and not OperationCanceledException)
        {
            // ML.NET reports a corrupt image as "Invalid input stream contents (Parameter 'imageStream')",
            // wrapped by its parallel row consolidator, without naming the file; find the file by decoding.
            string? bad = FindUndecodable(paths, Math.Min(row, paths.Count - 1), out string? why);
            if (bad is not null)
                throw new InvalidDataException(why, ex);
            string near = row < paths.Count ? paths[row] : paths[^1];
            throw new InvalidDataException($"Image preprocessing failed at or after image {row} ('{near}'): {(ex.InnerException ?? ex).Message}", ex);
        }
        if (row != paths.Count)
            throw new InvalidOperationException($"ML.NET returned {row} rows for {paths.Count} images.");
        return result;
    }

    /// <summary>
    /// Finds the first file of <paramref name="paths"/> (searching from index <paramref name="start"/>, wrapping
    /// around) that does not decode as an image — ML.NET's own error for a corrupt image does not name the file.
    /// </summary>
    /// <param name="paths">Image files.</param>
    /// <param name="start">Index to start from (e.g. where a failure happened).</param>
    /// <param name="reason">The error naming the file, when one is found.</param>
    /// <returns>The undecodable file, or null when every file decodes.</returns>
    public static string? FindUndecodable(IReadOnlyList<string> paths, int start, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(paths);
        for (int k = 0; k < paths.Count; k++)
        {
            string p = paths[(start + k) % paths.Count];
            try
            {
                ValidateImage(p);
            }
            catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException or IOException or UnauthorizedAccessException)
            {
                reason = ex.Message;
                return p;
            }
        }
        reason = null;
        return null;
    }

    /// <summary>Checks that a file exists and decodes as an image (via ML.NET's <see cref="MLImage"/>).</summary>
    /// <param name="path">Image file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is empty or cannot be decoded; the message names it.</exception>
    public static void ValidateImage(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"Image file '{path}' does not exist.", path);
        if (info.Length == 0) throw new InvalidDataException($"Image file '{path}' is empty.");
        try
        {
            using var image = MLImage.CreateFromFile(path);
            if (image.Width <= 0 || image.Height <= 0)
                throw new InvalidDataException($"Image file '{path}' decodes to an empty image.");
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            throw new InvalidDataException($"Image file '{path}' cannot be decoded: it is corrupt or not a supported image format (decoder said: {ex.Message}).", ex);
        }
    }
}
