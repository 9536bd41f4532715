using MLPipelines.IO;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;


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

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>Saves <paramref name="model"/> with its card to <paramref name="path"/>, never leaving a half-written file.</summary>
    public static void Save(MLContext ml, ITransformer model, DataViewSchema inputSchema, ModelCard card, string path)
    {
        using var buffer = new MemoryStream();
        ml.Model.Save(model, inputSchema, buffer);
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = zip.CreateEntry(CardEntry, CompressionLevel.Optimal);
            using var writer = entry.Open();
            JsonSerializer.Serialize(writer, card, JsonOptions);
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
}
