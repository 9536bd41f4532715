using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.ML;
using MLPipelines.Knn;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Models;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Trainers.Knn;

namespace MLPipelines.Serving;

/// <summary>
/// What <see cref="ServingHost"/> serves: a model zip with its card and run metrics, and optionally an m3-knn
/// retrieval index with the model that embeds queries for it. Loaded once, before the server starts.
/// </summary>
public sealed class ServedModel : IDisposable
{
    private readonly bool _sharedScorer;

    private ServedModel(ServingOptions options)
    {
        options.Validate();
        ModelPath = ResolveModel(options.ModelPath);
        Card = ModelPackage.ReadCard(ModelPath);
        if (Card.Classes.Length < 2)
            throw new InvalidDataException($"Model file '{ModelPath}': its model card names {Card.Classes.Length} classes.");
        Metrics = ReadMetrics(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ModelPath))!, MetricsJson.FileName));
        if (options.IndexFolder is { } folder)
        {
            if (File.Exists(folder) && folder.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
                folder = Path.GetDirectoryName(Path.GetFullPath(folder))!;
            IndexFolder = Path.GetFullPath(folder);
            string indexModel = Path.Combine(IndexFolder, "model.zip");
            string indexFile = Path.Combine(IndexFolder, Milestone3Knn.IndexFileName);
            foreach (var f in new[] { indexModel, indexFile })
                if (!File.Exists(f))
                    throw new FileNotFoundException($"'{f}' was not found; --index takes an m3-knn run folder holding model.zip and {Milestone3Knn.IndexFileName}.", f);
            Index = KnnIndexFile.Load(indexFile);
            if (Index.SourceIds is null)
                throw new InvalidDataException($"'{indexFile}' holds no image sources; it cannot serve similar images.");
            IndexCard = ModelPackage.ReadCard(indexModel);
            if (string.Equals(Path.GetFullPath(indexModel), Path.GetFullPath(ModelPath), StringComparison.Ordinal))
            {
                Scorer = InMemoryImageScorer.Load(ModelPath, Card, withFeatures: true, options.Scoring);
                IndexScorer = Scorer;
                _sharedScorer = true;
            }
            else
            {
                IndexScorer = InMemoryImageScorer.Load(indexModel, IndexCard, withFeatures: true, options.Scoring);
            }
        }
        Scorer ??= InMemoryImageScorer.Load(ModelPath, Card, withFeatures: false, options.Scoring);
        Options = options;
    }

    /// <summary>The options the model was loaded with.</summary>
    public ServingOptions Options { get; }

    /// <summary>The served model zip.</summary>
    public string ModelPath { get; }

    /// <summary>Its model card.</summary>
    public ModelCard Card { get; }

    /// <summary>The run's metrics.json beside the zip, when present.</summary>
    public JsonObject? Metrics { get; }

    /// <summary>The m3-knn run folder of the retrieval index, or null.</summary>
    public string? IndexFolder { get; }

    /// <summary>The retrieval index, or null.</summary>
    public KnnIndex? Index { get; }

    /// <summary>The card of the index run's model (its backbone and classes), or null.</summary>
    public ModelCard? IndexCard { get; }

    /// <summary>The ML.NET version the model is served with.</summary>
    public static string MLNetVersion { get; } = typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(MLContext).Assembly.GetName().Version?.ToString() ?? "unknown";

    internal InMemoryImageScorer Scorer { get; }

    internal InMemoryImageScorer? IndexScorer { get; }

    /// <summary>Loads the model (and index) named by <paramref name="options"/>.</summary>
    /// <param name="options">What to serve.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is not what was expected; the message names it.</exception>
    public static ServedModel Load(ServingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ServedModel(options);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Scorer.Dispose();
        if (!_sharedScorer)
            IndexScorer?.Dispose();
    }

    /// <summary>A model zip, or the run folder holding <c>model.zip</c>.</summary>
    private static string ResolveModel(string path)
    {
        if (Directory.Exists(path))
        {
            string zip = Path.Combine(path, "model.zip");
            return File.Exists(zip) ? Path.GetFullPath(zip) : throw new FileNotFoundException($"Run folder '{path}' holds no model.zip.", zip);
        }
        return File.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"Model '{path}' does not exist (give a model.zip or a run folder).", path);
    }

    /// <summary>The scalar metrics of metrics.json (validation/test scores, training time), without matrices and lists.</summary>
    private static JsonObject? ReadMetrics(string path)
    {
        if (!File.Exists(path))
            return null;
        try
        {
            if (JsonNode.Parse(File.ReadAllText(path)) is not JsonObject root)
                return null;
            var result = new JsonObject();
            foreach (var (key, value) in root)
            {
                if (value is JsonObject split)
                {
                    var scalars = new JsonObject();
                    foreach (var (k, v) in split)
                        if (v is JsonValue)
                            scalars[k] = v.DeepClone();
                    result[key] = scalars;
                }
                else if (value is JsonValue)
                {
                    result[key] = value.DeepClone();
                }
            }
            return result;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
