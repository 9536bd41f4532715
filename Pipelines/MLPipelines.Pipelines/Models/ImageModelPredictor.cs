using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.Transforms.Onnx;
using MLPipelines.Data;
using MLPipelines.IO;
using MLPipelines.Trainers;

namespace MLPipelines.Pipelines.Models;

/// <summary>One prediction: the file (and row, for a batch in one <c>.npy</c>), the class and its probability.</summary>
/// <param name="File">The input file.</param>
/// <param name="Row">Row within a <c>.npy</c> batch, or null for an image.</param>
/// <param name="Label">Predicted class name.</param>
/// <param name="Probability">Probability of the predicted class.</param>
public sealed record Prediction(string File, int? Row, string Label, float Probability);

/// <summary>The outcome for one input file: its predictions, or the error that names why it could not be scored.</summary>
/// <param name="File">The input file.</param>
/// <param name="Predictions">The predictions (one per image; empty when <paramref name="Error"/> is set).</param>
/// <param name="Error">Why the file could not be scored, or null.</param>
public sealed record FileOutcome(string File, IReadOnlyList<Prediction> Predictions, string? Error);

/// <summary>
/// Predicts with a model zip written by an MLPipelines image pipeline, from image files (through the zip's own
/// image transforms) or from <c>.npy</c> pixel arrays (fed to the part of the chain after pixel extraction,
/// scaled like the images: values above 1 are taken as 0-255 levels). Grayscale models read S x S values per
/// image, RGB models 3 x S x S channels-first (all red, then green, then blue), S and the channels coming from the
/// model card. <c>.npy</c> layouts: channels-first (C, S, S) or, for RGB, channels-last (S, S, 3) as numpy/PIL give
/// (each optionally with a leading batch dimension N), or flat rows of C × S × S values (channels first); any other
/// shape is refused with the layouts the model wants. Each file is scored on its own (<see cref="PredictEach"/>), so
/// one bad file does not hide the answers for the good ones. Prediction is thread-safe: every call builds its own
/// data views and cursors over the immutable loaded chain.
/// </summary>
public sealed class ImageModelPredictor
{
    private readonly MLContext _ml = new(seed: 1);
    private readonly ITransformer _model;
    private readonly ITransformer _afterPixels;
    private readonly string _pixelColumn;
    private readonly int _pixelLength;
    private readonly float _pixelScale;
    private readonly float _pixelOffset;
    private readonly bool _interleaved;

    private ImageModelPredictor(string path)
    {
        Card = ModelPackage.ReadCard(path);
        DataViewSchema? inputSchema;
        try
        {
            _model = _ml.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"Model file '{path}' cannot be loaded (a damaged or unsupported model, e.g. a corrupt ONNX entry): {e.Message}", e);
        }
        var flat = Flatten(_model).ToList();
        var pixels = flat.FindLastIndex(t => t is ImagePixelExtractingTransformer);
        if (pixels < 0)
            throw new InvalidDataException($"Model file '{path}' has no pixel-extraction step; it is not an image model.");
        if (inputSchema is null)
            throw new InvalidDataException($"Model file '{path}' has no input schema.");
        try
        {
            (_pixelColumn, _pixelScale, _pixelOffset, _interleaved) = Extraction((ImagePixelExtractingTransformer)flat[pixels], Card);
            // Arrays enter where the chain has its final pixels: after the extraction, or after the area filter of a
            // supersampled chain (ImagePreprocessingOptions.Supersampling: extraction to "<column>_Supersampled", then
            // an ONNX step averaging blocks into "<column>").
            int entry = pixels;
            var afterExtraction = new TransformerChain<ITransformer>(flat.Take(pixels + 1).ToArray()).GetOutputSchema(inputSchema);
            string fine = _pixelColumn.EndsWith(AreaDownsampling.ColumnSuffix, StringComparison.Ordinal) ? _pixelColumn : _pixelColumn + AreaDownsampling.ColumnSuffix;
            if (pixels + 1 < flat.Count && flat[pixels + 1] is OnnxTransformer && afterExtraction.GetColumnOrNull(fine) is not null)
            {
                entry = pixels + 1;
                _pixelColumn = fine[..^AreaDownsampling.ColumnSuffix.Length];
            }
            var atEntry = new TransformerChain<ITransformer>(flat.Take(entry + 1).ToArray()).GetOutputSchema(inputSchema);
            _pixelLength = atEntry[_pixelColumn].Type is VectorDataViewType { IsKnownSize: true } features
                ? features.Size
                : throw new InvalidDataException($"Model file '{path}': column '{_pixelColumn}' is not a known-size vector.");
            // The preprocessing drops its intermediate columns right after the pixels; skip that too.
            var first = entry + 1;
            while (first < flat.Count && flat[first] is ColumnSelectingTransformer)
                first++;
            _afterPixels = new TransformerChain<ITransformer>(flat.Skip(first).ToArray());
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"Model file '{path}' does not match its {ModelPackage.CardEntry}: {e.Message}", e);
        }
        if (_pixelLength != Card.Channels * Card.ImageSize * Card.ImageSize)
            throw new InvalidDataException(
                $"Model file '{path}': its {ModelPackage.CardEntry} says {Card.Channels} x {Card.ImageSize} x {Card.ImageSize} pixels, but the chain extracts {_pixelLength} values.");
        ModelPath = path;
        Preprocessing = ModelPackage.VerifyPreprocessing(path, _ml, _model, Card);
    }

    /// <summary>
    /// Whether this host's image preprocessing gives the pixels it gave when the model was saved (checked on load
    /// with the built-in probe image); when <see cref="PreprocessingCheck.IsMatch"/> is false, image predictions can
    /// differ from those at training time, and <see cref="PreprocessingCheck.Message"/> says by how much the pixels differ.
    /// </summary>
    public PreprocessingCheck Preprocessing { get; }

    /// <summary>The loaded model file.</summary>
    public string ModelPath { get; }

    /// <summary>The model's card (task, classes, image size).</summary>
    public ModelCard Card { get; }

    /// <summary>Loads a model zip written by MLPipelines, or the <c>model.zip</c> of a run folder.</summary>
    /// <param name="path">The model zip, or a run folder holding one.</param>
    /// <exception cref="FileNotFoundException">No such file, or a folder without model.zip.</exception>
    /// <exception cref="InvalidDataException">The zip, its card or its ONNX entry is damaged (the message names the zip).</exception>
    public static ImageModelPredictor Load(string path) => new(ResolveModelPath(path));

    /// <summary><paramref name="path"/> itself, or for a run folder its model.zip (refused when the run never finished).</summary>
    /// <param name="path">A model zip or a run folder.</param>
    public static string ResolveModelPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!Directory.Exists(path))
            return path;
        var model = Path.Combine(path, "model.zip");
        if (StagedFolder.Inspect(path, out var problem) == FolderState.Incomplete)
            throw new InvalidDataException($"Run folder '{path}' is not a finished run: {problem}");
        return File.Exists(model)
            ? model
            : throw new FileNotFoundException($"'{path}' is a folder without model.zip; give a model zip or a finished run folder.", model);
    }

    /// <summary>Predicts every file: images (.jpg, .png, ...) and <c>.npy</c> arrays; throws at the first file that cannot be scored.</summary>
    /// <param name="files">Input files.</param>
    public IReadOnlyList<Prediction> Predict(IEnumerable<string> files)
    {
        var results = new List<Prediction>();
        foreach (var file in files)
        {
            if (!File.Exists(file))
                throw new FileNotFoundException($"Input file '{file}' does not exist.", file);
            results.AddRange(string.Equals(Path.GetExtension(file), ".npy", StringComparison.OrdinalIgnoreCase)
                ? PredictNpy(file)
                : PredictImage(file));
        }
        return results;
    }

    /// <summary>Predicts each file on its own: a file that cannot be read or scored gets an error naming it, and the others are still answered.</summary>
    /// <param name="files">Input files.</param>
    public IReadOnlyList<FileOutcome> PredictEach(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var outcomes = new List<FileOutcome>();
        foreach (var file in files)
        {
            try
            {
                outcomes.Add(new FileOutcome(file, Predict([file]), null));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException
                                          or UnauthorizedAccessException or NotSupportedException or FormatException)
            {
                var message = e.Message.Contains(file, StringComparison.Ordinal) ? e.Message : $"'{file}': {e.Message}";
                outcomes.Add(new FileOutcome(file, [], message));
            }
        }
        return outcomes;
    }

    private IEnumerable<Prediction> PredictImage(string file)
    {
        if (!ImageFolderDataset.IsSupportedImage(file))
            throw new ArgumentException($"Input file '{file}' is neither a supported image ({string.Join(" ", ImageFolderDataset.SupportedExtensions)}) nor a .npy array.");
        var data = _ml.Data.LoadFromEnumerable(new[] { new PathRow { ImagePath = Path.GetFullPath(file) } });
        IDataView scored;
        try
        {
            scored = _model.Transform(data);
            return Read(scored, file, single: true).ToList();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // ML.NET reports an empty or undecodable image through its worker threads ("Splitter/consolidator worker ...").
            var reason = new FileInfo(file).Length == 0 ? "the file is empty" : Innermost(e).Message;
            throw new InvalidDataException($"Image '{file}' could not be read or scored: {reason}", e);
        }
    }

    private IEnumerable<Prediction> PredictNpy(string file)
    {
        NpyArray array;
        try
        {
            array = Npy.Read(file);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or FormatException)
        {
            throw new InvalidDataException(e.Message.Contains(file, StringComparison.Ordinal) ? e.Message : $"'{file}': {e.Message}", e);
        }
        var values = array.ToFloat32();
        var n = _pixelLength;
        var hwc = Layout(file, array.Shape, values.Length);
        var max = 0f;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (!float.IsFinite(v) || v < 0 || v > 255)
                throw new InvalidDataException($"'{file}', value {i} is {v.ToString(CultureInfo.InvariantCulture)}; pixels must be finite levels in 0-255 or 0-1.");
            max = Math.Max(max, v);
        }
        // Levels 0-255 (or 0-1, scaled up), then the model's own pixel extraction: (level - offset) * scale.
        var toLevels = max > 1f ? 1f : 255f;
        int c = Card.Channels, size = Card.ImageSize, plane = size * size;
        var rows = new List<FeatureRow>();
        for (var r = 0; r < values.Length / n; r++)
        {
            var features = new float[n];
            for (var j = 0; j < n; j++)
            {
                // j indexes the model's order (planar, or interleaved when its extraction interleaves); an HWC input
                // holds channel ch of pixel p at p * c + ch, a CHW input at ch * plane + p.
                int channel = _interleaved ? j % c : j / plane, pixel = _interleaved ? j / c : j % plane;
                var source = hwc ? pixel * c + channel : channel * plane + pixel;
                features[j] = (values[r * n + source] * toLevels - _pixelOffset) * _pixelScale;
            }
            rows.Add(new FeatureRow { Features = features });
        }
        var definition = SchemaDefinition.Create(typeof(FeatureRow));
        definition[nameof(FeatureRow.Features)].ColumnName = _pixelColumn;
        definition[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, n);
        var data = _ml.Data.LoadFromEnumerable(rows, definition);
        try
        {
            return Read(_afterPixels.Transform(data), file, single: rows.Count == 1).ToList();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"'{file}' could not be scored: {Innermost(e).Message}", e);
        }
    }

    /// <summary>
    /// Checks an array's shape against the layouts the model reads and says whether it is channels-last (H, W, C).
    /// Accepted: (S, S) and (N, S, S) for grayscale; (C, S, S) and (N, C, S, S) channels first; (S, S, C) and (N, S, S, C)
    /// channels last (numpy/PIL); (C·S·S,) and (N, C·S·S) flat, channels first. Unambiguous because S ≥ 4 &gt; C.
    /// </summary>
    private bool Layout(string file, int[] shape, long count)
    {
        int c = Card.Channels, s = Card.ImageSize;
        // null: not an image shape; false: channels first (or flat); true: channels last.
        bool? Image(ReadOnlySpan<int> d) => d switch
        {
            [var f] when f == (long)c * s * s => false,
            [var h, var w] when c == 1 && h == s && w == s => false,
            [var ch, var h, var w] when ch == c && h == s && w == s => false,
            [var h, var w, var ch] when ch == c && h == s && w == s => c > 1,
            _ => null,
        };
        if (count > 0)
        {
            if (Image(shape) is { } single)
                return single;
            if (shape.Length >= 2 && shape[0] >= 1 && Image(shape.AsSpan(1)) is { } batch)
                return batch;
        }
        var wanted = c == 1
            ? $"({s}, {s}) grey values, ({s * s},) flat, or a batch (N, {s}, {s}) / (N, {s * s})"
            : $"({c}, {s}, {s}) channels first, ({s}, {s}, {c}) channels last (numpy/PIL), ({c * s * s},) flat channels first, or a batch (N, ...) of these";
        throw new InvalidDataException(
            $"'{file}' has shape ({string.Join(", ", shape)}), {count} values; this model ({(c == 1 ? "grayscale" : "RGB")}, {s} x {s} px, producer '{Card.Producer}') reads pixel images: {wanted}.");
    }

    /// <summary>
    /// The output column, scale, offset and interleaving of the chain's pixel extraction. ML.NET keeps the fitted
    /// options internal, so they are read by reflection; when that fails (another ML.NET version), MLPipelines'
    /// own conventions apply: images scaled to 0-1 planar, backbone chains (m3-knn) 0-255 planar.
    /// </summary>
    private static (string Column, float Scale, float Offset, bool Interleaved) Extraction(ImagePixelExtractingTransformer extractor, ModelCard card)
    {
        try
        {
            var columns = typeof(ImagePixelExtractingTransformer)
                .GetProperty("Columns", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)?
                .GetValue(extractor) as System.Collections.IEnumerable;
            if (columns?.Cast<object>().LastOrDefault() is { } c)
            {
                T Field<T>(string name) => (T)(c.GetType().GetField(name)?.GetValue(c) ?? throw new InvalidCastException(name));
                return (Field<string>("Name"), Field<float>("ScaleImage"), Field<float>("OffsetImage"), Field<bool>("InterleavePixelColors"));
            }
        }
        catch (Exception e) when (e is System.Reflection.TargetInvocationException or InvalidCastException or MemberAccessException)
        {
        }
        return card.Producer == "m3-knn" ? (card.FeatureColumn == "Features" ? "Pixels" : card.FeatureColumn, 1f, 0f, false) : (card.FeatureColumn, 1f / 255f, 0f, false);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    private IEnumerable<Prediction> Read(IDataView scored, string file, bool single)
    {
        using var cursor = scored.GetRowCursor(scored.Schema);
        var row = 0;
        if (Card.IsBinary)
        {
            var predicted = cursor.GetGetter<bool>(scored.Schema[ColumnNames.PredictedLabel]);
            var probability = cursor.GetGetter<float>(scored.Schema[ColumnNames.Probability]);
            bool p = false;
            float q = 0;
            while (cursor.MoveNext())
            {
                predicted(ref p);
                probability(ref q);
                yield return new Prediction(file, single ? null : row, Card.Classes[p ? 1 : 0], p ? q : 1 - q);
                row++;
            }
        }
        else
        {
            var predicted = cursor.GetGetter<uint>(scored.Schema[ColumnNames.PredictedLabel]);
            var score = cursor.GetGetter<VBuffer<float>>(scored.Schema[ColumnNames.Score]);
            uint key = 0;
            VBuffer<float> s = default;
            while (cursor.MoveNext())
            {
                predicted(ref key);
                score(ref s);
                var index = (int)key - 1;
                yield return new Prediction(file, single ? null : row, Card.Classes[index], s.GetItemOrDefault(index));
                row++;
            }
        }
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer)
    {
        if (transformer is IEnumerable<ITransformer> chain)
            return chain.SelectMany(Flatten);
        return [transformer];
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }
}
