using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Data;

namespace MLPipelines.Backbones;

/// <summary>ML.NET catalog extensions that put a pretrained backbone into an estimator chain.</summary>
public static class BackboneCatalogExtensions
{
    /// <summary>
    /// Image files → embeddings as a chain of stock ML.NET transforms, so a fitted model saves to a zip that loads with
    /// plain <c>mlContext.Model.Load</c> (the compiled ONNX graph is embedded in it):
    /// <c>LoadImages → ResizeImages(S, S, spec.Resizing) → ExtractPixels(RGB, channels first, 0-255)</c> (exactly
    /// <see cref="ImagePreprocessing.Create(TransformsCatalog, ImagePreprocessingOptions?)"/> with <see cref="BackboneImageOptions.For"/>), then <c>ApplyOnnxModel</c>
    /// with the graph from <see cref="Backbone.CompileModel"/> (normalisation included), then <c>DropColumns</c> of the
    /// pixel column. ML.NET runs ONNX Runtime one row at a time; for bulk work use <see cref="BatchedFeaturizer"/>,
    /// which gives the same embeddings.
    /// </summary>
    /// <param name="transforms">The transforms catalog.</param>
    /// <param name="spec">The backbone.</param>
    /// <param name="outputColumnName">Column receiving the float vector of <see cref="BackboneSpec.EmbeddingSize"/> values.</param>
    /// <param name="imagePathColumn">Column holding image file paths.</param>
    /// <returns>The estimator chain.</returns>
    public static EstimatorChain<ITransformer> ExtractEmbeddings(this TransformsCatalog transforms, BackboneSpec spec,
        string outputColumnName = "Features", string imagePathColumn = "ImagePath")
    {
        ArgumentNullException.ThrowIfNull(transforms);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(imagePathColumn);
        string pixels = outputColumnName + "_Pixels";
        var compiled = Backbone.CompileModel(spec, pixels, outputColumnName);
        var options = BackboneImageOptions.For(spec, imagePathColumn, pixels);
        var chain = new EstimatorChain<ITransformer>().Append(ImagePreprocessing.Create(transforms, options));
        var stream = new MemoryStream(compiled.ToArray(), writable: false);
        return chain
            .Append(transforms.ApplyOnnxModel([outputColumnName], [pixels], stream))
            .Append<ITransformer>(transforms.DropColumns(pixels));
    }
}

/// <summary>The ML.NET image-preprocessing options both embedding paths use, so their pixels are identical.</summary>
public static class BackboneImageOptions
{
    /// <summary>
    /// <see cref="ImagePreprocessingOptions"/> for <paramref name="spec"/>: size S × S with <see cref="BackboneSpec.Resizing"/>,
    /// RGB (no grayscale), channels first, scale 1, offset 0 (raw 0-255 values).
    /// </summary>
    /// <param name="spec">The backbone.</param>
    /// <param name="imagePathColumn">Column holding image paths.</param>
    /// <param name="pixelColumn">Column receiving the pixels.</param>
    /// <returns>The options.</returns>
    public static ImagePreprocessingOptions For(BackboneSpec spec, string imagePathColumn = "ImagePath", string pixelColumn = "Pixels")
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ImagePreprocessingOptions
        {
            InputColumnName = imagePathColumn,
            OutputColumnName = pixelColumn,
            ImageSize = spec.ImageSize,
            Grayscale = false,
            Interleave = false,
            Scale = 1f,
            Offset = 0f,
            Resizing = spec.Resizing,
        };
    }
}
