using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML;
using MLPipelines.IO;
using MLPipelines.Pipelines.Models;
using MLPipelines.Pipelines.Reporting;

namespace MLPipelines.Pipelines.ImageClassification;

/// <summary>
/// The one writer of a run folder (model.zip with its model card, metrics.json, training curves, confusion matrix,
/// predictions.csv and any extra report). Every milestone writes its outputs through it, so what a run folder holds
/// and how each file is written (atomically, through <see cref="AtomicFile"/>) is decided in one place.
/// </summary>
public sealed class RunFolder
{
    /// <summary>File name of the saved model.</summary>
    public const string ModelFileName = "model.zip";

    /// <summary>File name of the validation predictions.</summary>
    public const string PredictionsFileName = "predictions.csv";

    /// <summary>Classes above which the confusion-matrix heatmap is replaced by most-confused.csv (a 196 × 196 heatmap is unreadable).</summary>
    public const int MaxHeatmapClasses = 50;

    private readonly List<string> _files = [];

    /// <summary>Creates the folder (and its parents) when missing.</summary>
    /// <param name="directory">The run folder.</param>
    public RunFolder(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (File.Exists(directory))
            throw new IOException($"Output folder '{directory}' is an existing file (option --out).");
        System.IO.Directory.CreateDirectory(directory);
        Directory = directory;
    }

    /// <summary>Gets the folder.</summary>
    public string Directory { get; }

    /// <summary>Gets the paths written so far, in order.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <summary>Gets the path of <paramref name="fileName"/> inside the folder.</summary>
    /// <param name="fileName">A file name.</param>
    public string PathOf(string fileName) => System.IO.Path.Combine(Directory, fileName);

    /// <summary>Saves the model chain and its card as model.zip.</summary>
    /// <param name="ml">The context that fitted the model.</param>
    /// <param name="model">The fitted chain (raw rows in).</param>
    /// <param name="inputSchema">Schema of the raw rows.</param>
    /// <param name="card">The model card.</param>
    /// <returns>The path written.</returns>
    public string SaveModel(MLContext ml, ITransformer model, DataViewSchema inputSchema, ModelCard card)
    {
        var path = PathOf(ModelFileName);
        ModelPackage.Save(ml, model, inputSchema, card, path);
        return Add(path);
    }

    /// <summary>Writes metrics.json.</summary>
    /// <param name="metrics">The metrics document.</param>
    public string WriteMetrics(MetricsDocument metrics)
    {
        var path = PathOf(MetricsJson.FileName);
        MetricsJson.Write(path, metrics);
        return Add(path);
    }

    /// <summary>Writes loss-curve.png and accuracy-curve.png.</summary>
    /// <param name="history">One record per epoch.</param>
    /// <param name="bestEpoch">The epoch whose weights were kept, marked on the curves; null for none.</param>
    public void WriteTrainingCurves(IReadOnlyList<EpochRecord> history, int? bestEpoch)
    {
        var loss = PathOf("loss-curve.png");
        var accuracy = PathOf("accuracy-curve.png");
        TrainingCurves.Save(loss, accuracy, history, bestEpoch);
        Add(loss);
        Add(accuracy);
    }

    /// <summary>
    /// Writes confusion-matrix.png, or for more than <see cref="MaxHeatmapClasses"/> classes most-confused.csv (the 100
    /// most frequent confusions; the full matrix is in metrics.json).
    /// </summary>
    /// <param name="report">The validation report.</param>
    /// <param name="log">Receives a line when the heatmap is replaced.</param>
    public void WriteConfusion(ClassificationReport report, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Classes.Count <= MaxHeatmapClasses)
        {
            var png = PathOf("confusion-matrix.png");
            ConfusionMatrixChart.Save(png, report.ConfusionMatrix, report.Classes, $"Validation confusion matrix (accuracy {report.Accuracy:P2})");
            Add(png);
            return;
        }
        var pairs = new List<(int True, int Predicted, int Count)>();
        for (int t = 0; t < report.Classes.Count; t++)
            for (int p = 0; p < report.Classes.Count; p++)
                if (t != p && report[t, p] > 0) pairs.Add((t, p, report[t, p]));
        var csv = new StringBuilder("true,predicted,count\n");
        foreach (var (t, p, n) in pairs.OrderByDescending(q => q.Count).ThenBy(q => q.True).ThenBy(q => q.Predicted).Take(100))
            csv.Append(CultureInfo.InvariantCulture, $"{PredictionsCsv.Field(report.Classes[t], true)},{PredictionsCsv.Field(report.Classes[p], true)},{n}\n");
        WriteText("most-confused.csv", csv.ToString());
        log?.Report($"{report.Classes.Count} classes: no confusion heatmap (unreadable); most-confused.csv lists the top pairs, metrics.json holds the matrix.");
    }

    /// <summary>Writes predictions.csv.</summary>
    /// <param name="csv">The rows (see <see cref="PredictionsCsv"/>).</param>
    public string WritePredictions(string csv) => WriteText(PredictionsFileName, csv);

    /// <summary>Writes a UTF-8 text file into the folder.</summary>
    /// <param name="fileName">The file name.</param>
    /// <param name="text">The content.</param>
    public string WriteText(string fileName, string text)
    {
        var path = PathOf(fileName);
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
        return Add(path);
    }

    /// <summary>Records a file written into the folder by another component (e.g. a retrieval index).</summary>
    /// <param name="path">The path written.</param>
    public string Add(string path)
    {
        _files.Add(path);
        return path;
    }

    /// <summary>
    /// Copies run details into metrics.json's extra keys: int, long, double and bool stay JSON numbers/booleans,
    /// anything else is written as its invariant text.
    /// </summary>
    /// <param name="metrics">The document.</param>
    /// <param name="details">The details (snake_case keys).</param>
    public static void AddDetails(MetricsDocument metrics, IReadOnlyDictionary<string, object>? details)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var (key, value) in details ?? new Dictionary<string, object>())
            metrics.Extra[key] = value switch
            {
                int v => JsonValue.Create(v),
                long v => JsonValue.Create(v),
                double v => JsonValue.Create(v),
                bool v => JsonValue.Create(v),
                _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
            };
    }
}

/// <summary>predictions.csv: one row per image with its true and predicted class and the predicted class's probability.</summary>
public static class PredictionsCsv
{
    /// <summary>The header line.</summary>
    public const string Header = "image,true,predicted,probability\n";

    /// <summary>A CSV field, quoted when needed (or always).</summary>
    /// <param name="field">The text.</param>
    /// <param name="alwaysQuote">Quote even when not needed.</param>
    public static string Field(string field, bool alwaysQuote = false) =>
        alwaysQuote || field.AsSpan().IndexOfAny(",\"\n\r") >= 0
            ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : field;
}
