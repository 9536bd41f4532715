using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;
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

/// <summary>
/// Predicts with a model zip written by an MLPipelines image pipeline, from image files (through the zip's own
/// image transforms) or from <c>.npy</c> pixel arrays (fed to the part of the chain after pixel extraction,
/// scaled like the images: values above 1 are taken as 0-255 levels). Grayscale models read S x S values per
/// image, RGB models 3 x S x S channels-first (all red, then green, then blue), S and the channels coming from the
/// model card.
/// </summary>
public sealed class ImageModelPredictor
{
    private readonly MLContext _ml = new(seed: 1);
    private readonly ITransformer _model;
    private readonly ITransformer _afterPixels;
    private readonly int _featureLength;

    private ImageModelPredictor(string path)
    {
        Card = ModelPackage.ReadCard(path);
        _model = _ml.Model.Load(path, out var inputSchema);
        var flat = Flatten(_model).ToList();
        var pixels = flat.FindLastIndex(t => t is ImagePixelExtractingTransformer);
        if (pixels < 0)
            throw new InvalidDataException($"Model file '{path}' has no pixel-extraction step; it is not an image model.");
        // The preprocessing drops its intermediate image column right after pixel extraction; skip that too.
        var first = pixels + 1;
        while (first < flat.Count && flat[first] is ColumnSelectingTransformer)
            first++;
        _afterPixels = new TransformerChain<ITransformer>(flat.Skip(first).ToArray());
        var output = _model.GetOutputSchema(inputSchema ?? throw new InvalidDataException($"Model file '{path}' has no input schema."));
        _featureLength = output[Card.FeatureColumn].Type is VectorDataViewType { IsKnownSize: true } features
            ? features.Size
            : throw new InvalidDataException($"Model file '{path}': column '{Card.FeatureColumn}' is not a known-size vector.");
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

    /// <summary>Loads a model zip written by MLPipelines.</summary>
    /// <param name="path">The model zip.</param>
    public static ImageModelPredictor Load(string path) => new(path);

    /// <summary>Predicts every file: images (.jpg, .png, ...) and <c>.npy</c> arrays.</summary>
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
        catch (Exception e) when (e is not ArgumentException)
        {
            throw new InvalidDataException($"Image '{file}' could not be read or scored: {e.Message}", e);
        }
    }

    private IEnumerable<Prediction> PredictNpy(string file)
    {
        var array = Npy.Read(file);
        var values = array.ToFloat32();
        var n = _featureLength;
        if (values.Length == 0 || values.Length % n != 0)
        {
            var size = Card.ImageSize;
            var examples = Card.Channels == 1
                ? $"({size}, {size}), ({n},), (N, {size}, {size}) or (N, {n})"
                : $"({Card.Channels}, {size}, {size}) channels-first RGB, ({n},), (N, {Card.Channels}, {size}, {size}) or (N, {n})";
            throw new InvalidDataException(
                $"'{file}' has shape ({string.Join(", ", array.Shape)}), {values.Length} values; the model expects {n} per image " +
                $"({Card.Channels} x {size} x {size}; e.g. {examples}).");
        }
        var max = 0f;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (!float.IsFinite(v) || v < 0 || v > 255)
                throw new InvalidDataException($"'{file}', value {i} is {v.ToString(CultureInfo.InvariantCulture)}; pixels must be finite levels in 0-255 or 0-1.");
            max = Math.Max(max, v);
        }
        var scale = max > 1f ? 1f / 255f : 1f;
        var rows = new List<FeatureRow>();
        for (var r = 0; r < values.Length / n; r++)
        {
            var features = new float[n];
            for (var j = 0; j < n; j++)
                features[j] = values[r * n + j] * scale;
            rows.Add(new FeatureRow { Features = features });
        }
        var definition = SchemaDefinition.Create(typeof(FeatureRow));
        definition[nameof(FeatureRow.Features)].ColumnName = Card.FeatureColumn;
        definition[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, n);
        var data = _ml.Data.LoadFromEnumerable(rows, definition);
        return Read(_afterPixels.Transform(data), file, single: rows.Count == 1).ToList();
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
