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
/// and how it is written is decided in one place: the folder is locked for the run (a second run into it fails at
/// once naming the holder's process id), every file goes into a staging folder beside it, and <see cref="Commit"/>
/// writes <c>run-manifest.json</c> last and swaps the whole set in atomically (<see cref="StagedFolder"/>). A run
/// that fails or is killed before <see cref="Commit"/> leaves the previous run untouched; one disposed without it
/// deletes its staging folder.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>File name of the saved model.</summary>
    public const string ModelFileName = "model.zip";

    /// <summary>File name of the validation predictions.</summary>
    public const string PredictionsFileName = "predictions.csv";

    /// <summary>Classes above which the confusion-matrix heatmap is replaced by most-confused.csv (a 196 × 196 heatmap is unreadable).</summary>
    public const int MaxHeatmapClasses = 50;

    private readonly List<string> _names = [];
    private readonly StagedFolder _staged;

    /// <summary>Locks the folder (creating its parents when missing) and opens an empty staging folder beside it.</summary>
    /// <param name="directory">The run folder.</param>
    /// <exception cref="IOException">The folder is an existing file, is used by another run (the message names its process id), or cannot be written.</exception>
    public RunFolder(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (File.Exists(directory))
            throw new IOException($"Output folder '{directory}' is an existing file (option --out).");
        _staged = new StagedFolder(directory);
        Directory = directory;
    }

    /// <summary>Gets the folder.</summary>
    public string Directory { get; }

    /// <summary>Gets the final paths of the files written so far, in order (they exist once <see cref="Commit"/> has run).</summary>
    public IReadOnlyList<string> Files => _names.Select(n => System.IO.Path.Combine(Directory, n)).ToList();

    /// <summary>Whether the run has been committed.</summary>
    public bool IsCommitted => _staged.IsCommitted;

    /// <summary>Gets the path to write <paramref name="fileName"/> to (inside the staging folder until <see cref="Commit"/>).</summary>
    /// <param name="fileName">A file name.</param>
    public string PathOf(string fileName) => System.IO.Path.Combine(_staged.Staging, fileName);

    /// <summary>Commits every file written so far as one set (manifest last, atomic swap) and releases the folder.</summary>
    /// <param name="producer">The command that wrote the run, recorded in the manifest; may be null.</param>
    public void Commit(string? producer = null)
    {
        _staged.Commit(producer is null ? null : new Dictionary<string, string> { ["producer"] = producer });
        _staged.Dispose();
    }

    /// <summary>Releases the folder; without <see cref="Commit"/>, the staged files are deleted and the previous run stays.</summary>
    public void Dispose() => _staged.Dispose();

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
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var name = System.IO.Path.GetFileName(path);
        if (!string.Equals(System.IO.Path.GetFullPath(PathOf(name)), System.IO.Path.GetFullPath(path), StringComparison.Ordinal))
            throw new ArgumentException($"'{path}' is not inside the run's staging folder; write it to PathOf(\"{name}\").", nameof(path));
        if (!_names.Contains(name, StringComparer.Ordinal))
            _names.Add(name);
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
