using MLPipelines.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>
/// Metrics of one evaluated split as written to <c>metrics.json</c> (snake_case keys:
/// <c>accuracy</c>, <c>precision</c>, <c>recall</c>, <c>f1</c>, <c>loss</c>, <c>macro_precision</c>,
/// <c>macro_recall</c>, <c>macro_f1</c>, <c>confusion</c>, <c>classes</c>, <c>count</c>).
/// </summary>
public sealed class SplitMetrics
{
    /// <summary>Fraction of correctly classified samples.</summary>
    public double Accuracy { get; set; }

    /// <summary>Positive-class (<c>classes[1]</c>) precision for binary problems, macro precision otherwise.</summary>
    public double Precision { get; set; }

    /// <summary>Positive-class recall for binary problems, macro recall otherwise.</summary>
    public double Recall { get; set; }

    /// <summary>Positive-class F1 for binary problems, macro F1 otherwise.</summary>
    public double F1 { get; set; }

    /// <summary>Mean (binary) cross-entropy, or <see langword="null"/> when no probabilities were available.</summary>
    public double? Loss { get; set; }

    /// <summary>Unweighted mean of per-class precisions.</summary>
    public double MacroPrecision { get; set; }

    /// <summary>Unweighted mean of per-class recalls.</summary>
    public double MacroRecall { get; set; }

    /// <summary>Unweighted mean of per-class F1 scores.</summary>
    public double MacroF1 { get; set; }

    /// <summary>Confusion matrix as rows of counts: <c>confusion[true][predicted]</c>.</summary>
    public int[][] Confusion { get; set; } = [];

    /// <summary>Class names in index order.</summary>
    public string[] Classes { get; set; } = [];

    /// <summary>Number of evaluated samples.</summary>
    public int Count { get; set; }

    /// <summary>The confusion matrix as a rectangular array (rows = true class).</summary>
    /// <returns>A new <c>[classes, classes]</c> array.</returns>
    /// <exception cref="InvalidDataException">The rows are ragged or do not match <see cref="Classes"/>.</exception>
    public int[,] ToConfusionMatrix()
    {
        int n = Classes.Length;
        if (Confusion.Length != n || Confusion.Any(row => row is null || row.Length != n))
        {
            throw new InvalidDataException($"The confusion matrix is not {n}x{n} (one row and column per class).");
        }

        var matrix = new int[n, n];
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                matrix[r, c] = Confusion[r][c];
            }
        }

        return matrix;
    }

    /// <summary>Copies the metrics of a <see cref="ClassificationReport"/>.</summary>
    /// <param name="report">The computed report.</param>
    /// <returns>The split metrics.</returns>
    public static SplitMetrics FromReport(ClassificationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        int n = report.Classes.Count;
        var confusion = new int[n][];
        for (int r = 0; r < n; r++)
        {
            confusion[r] = new int[n];
            for (int c = 0; c < n; c++)
            {
                confusion[r][c] = report[r, c];
            }
        }

        return new SplitMetrics
        {
            Accuracy = report.Accuracy,
            Precision = report.Precision,
            Recall = report.Recall,
            F1 = report.F1,
            Loss = report.Loss,
            MacroPrecision = report.MacroPrecision,
            MacroRecall = report.MacroRecall,
            MacroF1 = report.MacroF1,
            Confusion = confusion,
            Classes = report.Classes.ToArray(),
            Count = report.Count,
        };
    }
}

/// <summary>
/// The content of <c>metrics.json</c>:
/// <c>{"validation": {...}, "test": {...}, "train_seconds": x, "train_samples_per_second": y, ...extra}</c>.
/// </summary>
public sealed class MetricsDocument
{
    /// <summary>Metrics on the validation split.</summary>
    public SplitMetrics Validation { get; set; } = new();

    /// <summary>Metrics on the test split; omitted from the file when <see langword="null"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SplitMetrics? Test { get; set; }

    /// <summary>Wall-clock training time in seconds.</summary>
    public double TrainSeconds { get; set; }

    /// <summary>Training throughput in samples per second.</summary>
    public double TrainSamplesPerSecond { get; set; }

    /// <summary>
    /// Additional top-level entries, written after the fixed ones with their keys unchanged
    /// (e.g. <c>doc.Extra["seed"] = 42;</c>). On reading, every unknown top-level key lands here.
    /// A key that equals one of the fixed keys is rejected when writing.
    /// </summary>
    [JsonIgnore]
    public JsonObject Extra { get; set; } = new();
}

/// <summary>Writes and reads <c>metrics.json</c> (System.Text.Json, snake_case keys, indented).</summary>
public static class MetricsJson
{
    /// <summary>The conventional file name, <c>metrics.json</c>.</summary>
    public const string FileName = "metrics.json";

    /// <summary>The serializer options used for the file: snake_case (lower) names, indented, NaN/Infinity allowed as strings.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static readonly HashSet<string> FixedKeys = ["validation", "test", "train_seconds", "train_samples_per_second"];

    /// <summary>Serializes <paramref name="document"/> to indented JSON text.</summary>
    /// <param name="document">The metrics.</param>
    /// <returns>The JSON text.</returns>
    public static string Serialize(MetricsDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        JsonObject root = JsonSerializer.SerializeToNode(document, Options)!.AsObject();
        foreach (KeyValuePair<string, JsonNode?> entry in document.Extra ?? [])
        {
            if (root.ContainsKey(entry.Key) || FixedKeys.Contains(entry.Key))
            {
                throw new ArgumentException($"Extra key '{entry.Key}' collides with a fixed metrics.json key.", nameof(document));
            }

            root[entry.Key] = entry.Value?.DeepClone();
        }

        return root.ToJsonString(Options);
    }

    /// <summary>Parses JSON text produced by <see cref="Serialize"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The metrics; unknown top-level keys are in <see cref="MetricsDocument.Extra"/>.</returns>
    /// <exception cref="InvalidDataException">The text is not a metrics document.</exception>
    public static MetricsDocument Deserialize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        MetricsDocument? document;
        JsonObject root;
        try
        {
            JsonNode? node = JsonNode.Parse(
                json,
                documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            root = node as JsonObject ?? throw new InvalidDataException("Invalid metrics JSON: the top level is not an object.");
            document = root.Deserialize<MetricsDocument>(Options);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Invalid metrics JSON: {ex.Message}", ex);
        }

        if (document is null || document.Validation is null || !root.ContainsKey("validation"))
        {
            throw new InvalidDataException("Invalid metrics JSON: the \"validation\" object is missing.");
        }

        foreach (KeyValuePair<string, JsonNode?> entry in root)
        {
            if (!FixedKeys.Contains(entry.Key))
            {
                document.Extra[entry.Key] = entry.Value?.DeepClone();
            }
        }

        return document;
    }

    /// <summary>Writes <paramref name="document"/> to <paramref name="path"/> atomically (temporary file, then move).</summary>
    /// <param name="path">Destination file, usually <c>&lt;run folder&gt;/metrics.json</c>; missing folders are created.</param>
    /// <param name="document">The metrics.</param>
    public static void Write(string path, MetricsDocument document) =>
        AtomicFile.WriteAllText(path, Serialize(document) + "\n");

    /// <summary>Reads a <c>metrics.json</c> file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a metrics document.</exception>
    public static MetricsDocument Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Deserialize(File.ReadAllText(path));
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            WriteIndented = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
