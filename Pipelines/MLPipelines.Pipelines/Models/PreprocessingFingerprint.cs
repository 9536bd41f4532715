using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace MLPipelines.Pipelines.Models;

/// <summary>
/// What a model's own image transforms made of the built-in probe image (<see cref="PreprocessingProbe"/>) on the
/// host that saved it: the resized (and, for grayscale models, grey) image, as channels-first R, G, B bytes in the
/// zip entry <see cref="ModelPackage.ProbeEntry"/>, and this summary in the model card. Loading the model elsewhere
/// re-runs the probe and compares (<see cref="ModelPackage.VerifyPreprocessing(string, MLContext?)"/>): image
/// decoding and resizing happen in ImageAnalytics/SkiaSharp outside the ONNX graph and have changed between releases.
/// </summary>
public sealed class PreprocessingFingerprint
{
    /// <summary>The probe's name (<c>mlpipelines-probe-1</c>).</summary>
    public string Probe { get; set; } = PreprocessingProbe.Name;

    /// <summary>Width of the resized probe.</summary>
    public int Width { get; set; }

    /// <summary>Height of the resized probe.</summary>
    public int Height { get; set; }

    /// <summary>SHA-256 (hex) of the channels-first R, G, B bytes.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>Mean of those bytes (grey levels 0-255).</summary>
    public double MeanLevel { get; set; }

    /// <summary>Releases of ML.NET and SkiaSharp that computed it, e.g. <c>Microsoft.ML 6.0.0; SkiaSharp 3.119.0</c>.</summary>
    public string Host { get; set; } = "";
}

/// <summary>Whether a model's image preprocessing gives, on this host, the pixels it gave when the model was saved.</summary>
public enum PreprocessingStatus
{
    /// <summary>Identical pixels: the model gives the answers it gave when it was saved.</summary>
    Match,

    /// <summary>The pixels differ: answers can differ from those at training time.</summary>
    Mismatch,

    /// <summary>Nothing to compare with (no fingerprint in the zip and no built-in reference for its settings).</summary>
    Unknown,

    /// <summary>Not an image model (no image loading, resizing or pixel extraction step).</summary>
    NotAnImageModel,
}

/// <summary>The result of <see cref="ModelPackage.VerifyPreprocessing(string, MLContext?)"/>.</summary>
/// <param name="ModelPath">The model zip.</param>
/// <param name="Status">Match, mismatch, or why there was nothing to compare.</param>
/// <param name="Reference">What the pixels were compared with (the zip's own fingerprint, or a built-in ML.NET 5.0.1 reference for zips saved before fingerprints).</param>
/// <param name="Host">The ML.NET and SkiaSharp releases of this host.</param>
/// <param name="MaxDifference">Largest difference of one pixel value, in grey levels (0-255).</param>
/// <param name="MeanDifference">Mean absolute difference over all values, in grey levels.</param>
/// <param name="DifferingValues">How many of the probe's values differ.</param>
/// <param name="TotalValues">How many values the probe has (width x height for grey models, 3 x width x height for RGB).</param>
public sealed record PreprocessingCheck(
    string ModelPath,
    PreprocessingStatus Status,
    string Reference,
    string Host,
    int MaxDifference,
    double MeanDifference,
    int DifferingValues,
    int TotalValues)
{
    /// <summary>False only when the pixels are known to differ.</summary>
    public bool IsMatch => Status != PreprocessingStatus.Mismatch;

    /// <summary>One line for people, naming the model and the size of the difference.</summary>
    public string Message => Status switch
    {
        PreprocessingStatus.Match => $"model '{ModelPath}': preprocessing matches ({Reference}): identical pixels on the probe image under {Host}.",
        PreprocessingStatus.Mismatch =>
            $"model '{ModelPath}': this host's image preprocessing ({Host}) differs from {Reference}: " +
            $"{DifferingValues} of {TotalValues} probe pixel values differ, by up to {MaxDifference} grey levels (mean {MeanDifference:0.###}); " +
            "predictions can differ from those at training time (retrain or re-save on this host to remove the warning).",
        PreprocessingStatus.Unknown => $"model '{ModelPath}': {Reference}; cannot tell whether this host ({Host}) preprocesses images as the training host did.",
        _ => $"model '{ModelPath}': not an image model; nothing to check.",
    };
}

/// <summary>Runs the probe through a model's image steps and compares with a fingerprint.</summary>
internal static class PreprocessingFingerprints
{
    /// <summary>The probe after a model's steps that come before pixel extraction, or null when the model has none.</summary>
    internal sealed record ProbeResult(int Width, int Height, byte[] Planes, bool Grayscale, bool Resizes);

    /// <summary>This host's ML.NET and SkiaSharp releases.</summary>
    public static string Host { get; } =
        $"Microsoft.ML {Informational(typeof(MLContext).Assembly)}; SkiaSharp {Informational(typeof(SkiaSharp.SKBitmap).Assembly)}";

    public static PreprocessingFingerprint Create(ProbeResult probe) => new()
    {
        Width = probe.Width,
        Height = probe.Height,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(probe.Planes)),
        MeanLevel = Math.Round(probe.Planes.Average(b => (double)b), 4),
        Host = Host,
    };

    /// <summary>Runs the probe through <paramref name="model"/>'s steps up to (not including) its last pixel extraction.</summary>
    public static ProbeResult? Run(MLContext ml, ITransformer model, string pathColumn)
    {
        List<ITransformer> steps = Flatten(model).ToList();
        int extract = steps.FindLastIndex(t => t is ImagePixelExtractingTransformer);
        int load = steps.FindIndex(t => t is ImageLoadingTransformer);
        if (extract < 0 || load < 0 || load > extract)
        {
            return null;
        }

        // ML.NET keeps the transformers' column options internal: the path column comes from the model card, the image
        // column is the last image-typed column before pixel extraction.
        bool grayscale = steps.Take(extract).Skip(load).Any(t => t is ImageGrayscalingTransformer);
        bool resizes = steps.Take(extract).Skip(load).Any(t => t is ImageResizingTransformer);

        string dir = Path.Combine(Path.GetTempPath(), "mlpipelines-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "probe.bmp");
            File.WriteAllBytes(file, PreprocessingProbe.Bmp());
            var definition = SchemaDefinition.Create(typeof(PathRow));
            definition[nameof(PathRow.ImagePath)].ColumnName = pathColumn;
            IDataView data = ml.Data.LoadFromEnumerable([new PathRow { ImagePath = file }], definition);
            IDataView view = new TransformerChain<ITransformer>(steps.Skip(load).Take(extract - load).ToArray()).Transform(data);
            string imageColumn = view.Schema.Last(c => !c.IsHidden && c.Type is ImageDataViewType).Name;
            (int w, int h, byte[] planes) = ProbePixels.Read(view, imageColumn);
            return new ProbeResult(w, h, planes, grayscale, resizes);
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        }
    }

    /// <summary>Compares this host's probe with a reference.</summary>
    public static PreprocessingCheck Compare(string modelPath, ProbeResult now, byte[] reference, string referenceName)
    {
        if (reference.Length != now.Planes.Length)
        {
            return new PreprocessingCheck(modelPath, PreprocessingStatus.Mismatch, referenceName, Host, 255, double.NaN, now.Planes.Length, now.Planes.Length);
        }

        // A grey image has three equal planes: count its values once.
        int count = now.Grayscale ? reference.Length / 3 : reference.Length;
        int max = 0, differing = 0;
        long sum = 0;
        for (int i = 0; i < count; i++)
        {
            int d = Math.Abs(reference[i] - now.Planes[i]);
            max = Math.Max(max, d);
            sum += d;
            differing += d > 0 ? 1 : 0;
        }

        return new PreprocessingCheck(
            modelPath, differing == 0 ? PreprocessingStatus.Match : PreprocessingStatus.Mismatch, referenceName, Host,
            max, (double)sum / count, differing, count);
    }

    /// <summary>
    /// What ML.NET 5.0.1 with SkiaSharp 2.88 (every MLPipelines release before fingerprints) made of the probe,
    /// for square sizes 28, 32, 64 and 224 with ML.NET's default centre-crop resizing (the only kind MLPipelines
    /// commands used); null for other sizes.
    /// </summary>
    public static byte[]? LegacyReference(ProbeResult probe)
    {
        if (probe.Width != probe.Height || !probe.Resizes)
        {
            return null;
        }

        string name = $"MLPipelines.Pipelines.LegacyProbe.mlnet-5.0.1-{probe.Width}x{probe.Height}-{(probe.Grayscale ? "gray" : "rgb")}.bin.gz";
        using Stream? resource = typeof(PreprocessingFingerprints).Assembly.GetManifestResourceStream(name);
        if (resource is null)
        {
            return null;
        }

        using var gzip = new GZipStream(resource, CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gzip.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

    private static string Informational(Assembly assembly)
    {
        string? version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return version is null ? assembly.GetName().Version?.ToString() ?? "?" : version.Split('+')[0];
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }
}
