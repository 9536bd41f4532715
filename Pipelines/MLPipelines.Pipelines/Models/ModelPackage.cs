using MLPipelines.IO;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;


namespace MLPipelines.Pipelines.Models;

/// <summary>
/// What a model zip is for: task, class names, and the preprocessing it expects. Stored as an extra entry
/// (<see cref="ModelPackage.CardEntry"/>) inside the ML.NET zip, which ML.NET's loader ignores, so the zip still
/// loads with plain <c>mlContext.Model.Load</c>.
/// </summary>
public sealed class ModelCard
{
    /// <summary>"binary" or "multiclass".</summary>
    public string Task { get; set; } = "binary";

    /// <summary>Class names; for binary tasks index 1 is the positive class (PredictedLabel = true).</summary>
    public string[] Classes { get; set; } = [];

    /// <summary>Side of the square image the model reads.</summary>
    public int ImageSize { get; set; }

    /// <summary>Whether images are converted to grayscale.</summary>
    public bool Grayscale { get; set; } = true;

    /// <summary>Name of the model input column holding image paths.</summary>
    public string ImagePathColumn { get; set; } = "ImagePath";

    /// <summary>Name of the pixel feature column (the input of the network).</summary>
    public string FeatureColumn { get; set; } = "Features";

    /// <summary>Which command or pipeline produced the model (e.g. "m1").</summary>
    public string Producer { get; set; } = "";

    /// <summary>
    /// What the model's image steps made of the built-in probe image on the host that saved it (null in zips saved
    /// before fingerprints, or for models without image steps); see <see cref="ModelPackage.VerifyPreprocessing(string, MLContext?)"/>.
    /// </summary>
    public PreprocessingFingerprint? Preprocessing { get; set; }

    /// <summary>Per-epoch training history of the network (filled when saving a model whose chain holds an MLPipelines trainer's model); null when unknown.</summary>
    public EpochRecord[]? History { get; set; }

    /// <summary>The epoch whose weights the model keeps (early stopping restores the best one); null when unknown.</summary>
    public int? BestEpoch { get; set; }

    /// <summary>Channels of the pixels the model reads: 1 for grayscale, 3 for RGB (channels-first, R then G then B).</summary>
    [JsonIgnore]
    public int Channels => Grayscale ? 1 : 3;

    /// <summary>True for a binary task.</summary>
    [JsonIgnore]
    public bool IsBinary => Task == "binary";

    /// <summary>The card of an image classifier whose chain reads <c>ImagePath</c> and writes <c>Features</c> before the network.</summary>
    /// <param name="classes">Class names in label order.</param>
    /// <param name="imageSize">Side of the square network input.</param>
    /// <param name="grayscale">One channel instead of RGB.</param>
    /// <param name="producer">The command that wrote the model (e.g. "m1").</param>
    public static ModelCard ForImages(IReadOnlyList<string> classes, int imageSize, bool grayscale, string producer) => new()
    {
        Task = classes.Count == 2 ? "binary" : "multiclass",
        Classes = [.. classes],
        ImageSize = imageSize,
        Grayscale = grayscale,
        ImagePathColumn = ImageClassification.ImageClassificationExperiment.ImagePathColumn,
        FeatureColumn = Trainers.ColumnNames.Features,
        Producer = producer,
    };
}

/// <summary>Saving and loading model zips with their <see cref="ModelCard"/>, atomically.</summary>
public static class ModelPackage
{
    /// <summary>Zip entry holding the model card JSON.</summary>
    public const string CardEntry = "MLPipelines/model-card.json";

    /// <summary>Zip entry holding the trained network as a standalone ONNX model (what <c>SaveOnnx</c> writes).</summary>
    public const string NetworkEntry = "MLPipelines/network.onnx";

    /// <summary>Zip entry holding the probe image after the model's resize (channels-first R, G, B bytes); see <see cref="PreprocessingFingerprint"/>.</summary>
    public const string ProbeEntry = "MLPipelines/preprocessing-probe.bin";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>Text column with the predicted class name that binary models gain when saved (see <see cref="WithClassNames"/>).</summary>
    public const string PredictedClassColumn = "PredictedClass";

    /// <summary>
    /// For a binary model (Boolean <c>PredictedLabel</c>) whose card names the two classes, appends ML.NET's stock
    /// <c>MapValue</c> step giving the text column <see cref="PredictedClassColumn"/> (false: <c>Classes[0]</c>, true:
    /// <c>Classes[1]</c>), so an app with only the stock ML.NET packages can print the class; other models are returned
    /// unchanged. (Multiclass models map their key <c>PredictedLabel</c> back with <c>MapKeyToValue</c>.)
    /// </summary>
    public static ITransformer WithClassNames(MLContext ml, ITransformer model, DataViewSchema inputSchema, ModelCard card)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(card);
        if (!card.IsBinary || card.Classes.Length != 2)
            return model;
        var output = model.GetOutputSchema(inputSchema);
        if (output.GetColumnOrNull(Trainers.ColumnNames.PredictedLabel) is not { } predicted || predicted.Type is not Microsoft.ML.Data.BooleanDataViewType
            || output.GetColumnOrNull(PredictedClassColumn) is not null)
            return model;
        var names = new[] { new KeyValuePair<bool, string>(false, card.Classes[0]), new KeyValuePair<bool, string>(true, card.Classes[1]) };
        var map = ml.Transforms.Conversion.MapValue(PredictedClassColumn, names, Trainers.ColumnNames.PredictedLabel)
            .Fit(ml.Data.LoadFromEnumerable(new[] { new BoolRow() }));
        var steps = model is TransformerChain<ITransformer> chain ? chain.ToList() : [model];
        steps.Add(map);
        return new TransformerChain<ITransformer>(steps.ToArray());
    }

    internal static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

    /// <summary>The bytes of a zip entry, or null when the zip has no such entry.</summary>
    internal static byte[]? ReadEntry(string path, string entryName)
    {
        using var zip = ZipFile.OpenRead(path);
        if (zip.GetEntry(entryName) is not { } entry)
            return null;
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private sealed class BoolRow
    {
        public bool PredictedLabel { get; set; }
    }

    /// <summary>Saves <paramref name="model"/> with its card to <paramref name="path"/>, never leaving a half-written file.</summary>
    public static void Save(MLContext ml, ITransformer model, DataViewSchema inputSchema, ModelCard card, string path)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(card);
        model = WithClassNames(ml, model, inputSchema, card);
        using var buffer = new MemoryStream();
        ml.Model.Save(model, inputSchema, buffer);
        var trained = Flatten(model).OfType<Trainers.OnnxModel.OnnxBackedModel>().LastOrDefault();
        (card.History, card.BestEpoch) = trained switch
        {
            Trainers.Mlp.MlpModel m => (m.History.Epochs.ToArray(), (int?)m.History.BestEpoch),
            Trainers.Torch.TorchModel t => (t.History.Epochs.ToArray(), (int?)t.History.BestEpoch),
            _ => (card.History, card.BestEpoch),
        };
        var probe = PreprocessingFingerprints.Run(ml, model, card.ImagePathColumn);
        card.Preprocessing = probe is null ? null : PreprocessingFingerprints.Create(probe);
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = zip.CreateEntry(CardEntry, CompressionLevel.Optimal);
            using (var writer = entry.Open())
                JsonSerializer.Serialize(writer, card, JsonOptions);
            if (trained is not null)
            {
                using var networkStream = zip.CreateEntry(NetworkEntry, CompressionLevel.Optimal).Open();
                networkStream.Write(trained.OnnxModel);
            }
            if (probe is not null)
            {
                using var probeStream = zip.CreateEntry(ProbeEntry, CompressionLevel.Optimal).Open();
                probeStream.Write(probe.Planes);
            }
        }
        AtomicFile.WriteAllBytes(path, buffer.ToArray());
    }

    /// <summary>Largest card entry read (a card is a few hundred bytes; 196 class names are a few kilobytes).</summary>
    public const int MaxCardBytes = 4 << 20;

    /// <summary>Reads and checks the card of a model zip.</summary>
    /// <param name="path">The model zip.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a zip, no card, or a damaged card (not JSON, wrong types, no classes, an impossible image size); the message names the zip.</exception>
    public static ModelCard ReadCard(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var entry = zip.GetEntry(CardEntry)
                ?? throw new InvalidDataException($"Model file '{path}' has no {CardEntry}; it was not written by MLPipelines.");
            if (entry.Length > MaxCardBytes)
                throw new InvalidDataException($"Model file '{path}': {CardEntry} is {entry.Length} bytes (at most {MaxCardBytes}).");
            using var stream = entry.Open();
            var card = JsonSerializer.Deserialize<ModelCard>(stream, JsonOptions)
                ?? throw new InvalidDataException($"Model file '{path}': empty {CardEntry}.");
            Check(card, path);
            return card;
        }
        catch (InvalidDataException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Model file '{path}' is not a valid model zip: {e.Message}", e);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or IOException and not FileNotFoundException)
        {
            throw new InvalidDataException($"Model file '{path}' has a damaged {CardEntry}: {e.Message}", e);
        }
    }

    private static void Check(ModelCard card, string path)
    {
        string? problem =
            card.Task is not ("binary" or "multiclass") ? $"task '{card.Task}' is not binary or multiclass"
            : card.Classes is null || card.Classes.Length < 2 ? "it lists fewer than 2 classes"
            : card.Classes.Any(string.IsNullOrEmpty) ? "a class name is empty"
            : card.Task == "binary" && card.Classes.Length != 2 ? $"a binary task lists {card.Classes.Length} classes"
            : card.ImageSize is < 1 or > 8192 ? $"image_size {card.ImageSize} is not in 1-8192"
            : string.IsNullOrEmpty(card.FeatureColumn) || string.IsNullOrEmpty(card.ImagePathColumn) ? "a column name is empty"
            : null;
        if (problem is not null)
            throw new InvalidDataException($"Model file '{path}' has a damaged {CardEntry}: {problem}.");
    }

    /// <summary>Reads the card of a model zip, or null when the zip has none (not written by MLPipelines).</summary>
    public static ModelCard? TryReadCard(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        using (var zip = ZipFile.OpenRead(path))
        {
            if (zip.GetEntry(CardEntry) is null)
                return null;
        }
        return ReadCard(path);
    }

    /// <summary>
    /// Checks that this host's image preprocessing (ImageAnalytics/SkiaSharp decoding and resizing, which run outside
    /// the ONNX graph) gives the pixels it gave when the model was saved: runs the built-in probe image through the
    /// zip's own image steps and compares with the fingerprint stored in the zip, or, for zips saved before
    /// fingerprints, with a built-in reference of ML.NET 5.0.1 / SkiaSharp 2.88 (the release every earlier
    /// MLPipelines used). The result names the model and the size of the pixel difference.
    /// </summary>
    /// <param name="path">The model zip.</param>
    /// <param name="ml">The context to load with; a new one when null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static PreprocessingCheck VerifyPreprocessing(string path, MLContext? ml = null)
    {
        ml ??= new MLContext(seed: 1);
        var card = TryReadCard(path);
        ITransformer model;
        try
        {
            model = ml.Model.Load(path, out _);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or IOException)
        {
            throw new InvalidDataException($"Model file '{path}' could not be loaded: {e.Message}", e);
        }
        return VerifyPreprocessing(path, ml, model, card);
    }

    internal static PreprocessingCheck VerifyPreprocessing(string path, MLContext ml, ITransformer model, ModelCard? card)
    {
        var probe = PreprocessingFingerprints.Run(ml, model, card?.ImagePathColumn ?? "ImagePath");
        var host = PreprocessingFingerprints.Host;
        if (probe is null)
            return new PreprocessingCheck(path, PreprocessingStatus.NotAnImageModel, "no image steps", host, 0, 0, 0, 0);
        byte[]? saved = null;
        if (card?.Preprocessing is { } fingerprint && fingerprint.Probe == PreprocessingProbe.Name)
        {
            using var zip = ZipFile.OpenRead(path);
            if (zip.GetEntry(ProbeEntry) is { } entry)
            {
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                saved = copy.ToArray();
            }
            if (saved is not null)
                return PreprocessingFingerprints.Compare(path, probe, saved, $"the fingerprint saved with the model ({fingerprint.Host})");
        }
        var legacy = PreprocessingFingerprints.LegacyReference(probe);
        return legacy is null
            ? new PreprocessingCheck(path, PreprocessingStatus.Unknown, "the zip has no preprocessing fingerprint and there is no built-in reference for its image settings", host, 0, 0, 0, probe.Planes.Length)
            : PreprocessingFingerprints.Compare(path, probe, legacy,
                "the Microsoft.ML 5.0.1 / SkiaSharp 2.88 preprocessing of the releases that saved zips without a fingerprint (built-in reference)");
    }
}
