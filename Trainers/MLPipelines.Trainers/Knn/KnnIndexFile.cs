using MLPipelines.IO;
using MLPipelines.Knn;

namespace MLPipelines.Trainers.Knn;

/// <summary>
/// Saves a <see cref="KnnIndex"/> for retrieval outside ML.NET as a numpy <c>.npz</c> archive (written atomically),
/// and reads it back. Entries: <c>references</c> (float32 [N, D]; unit-normalised for cosine), <c>labels</c>
/// (int32 [N]), <c>classes</c> (strings [C]), <c>metric</c> (["euclidean"] or ["cosine"]) and, when the index has
/// them, <c>sources</c> (strings [N]). In Python: <c>np.load(path)["references"]</c>.
/// </summary>
public static class KnnIndexFile
{
    /// <summary>Writes <paramref name="index"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <param name="index">The index.</param>
    /// <param name="path">Destination <c>.npz</c> file.</param>
    public static void Save(KnnIndex index, string path)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var arrays = new Dictionary<string, NpyArray>(StringComparer.Ordinal)
        {
            ["references"] = NpyArray.FromFloat32(index.GetReferences(), index.Count, index.Dimension),
            ["labels"] = NpyArray.FromInt32(index.Labels.ToArray(), index.Count),
            ["classes"] = NpyArray.FromStrings(index.ClassNames.ToArray(), index.ClassCount),
            ["metric"] = NpyArray.FromStrings([MetricName(index.Metric)], 1),
        };
        if (index.SourceIds is { } sources)
            arrays["sources"] = NpyArray.FromStrings(sources.ToArray(), index.Count);
        Npz.Write(path, arrays);
    }

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    /// <param name="path">The <c>.npz</c> file.</param>
    /// <exception cref="InvalidDataException">An entry is missing or has the wrong shape; the message names the file and entry.</exception>
    public static KnnIndex Load(string path)
    {
        var arrays = Npz.Read(path);
        NpyArray Get(string name) => arrays.TryGetValue(name, out var a)
            ? a
            : throw new InvalidDataException($"'{path}' has no '{name}' entry; it is not a KNN index written by KnnIndexFile.Save.");
        var references = Get("references");
        if (references.Shape.Length != 2)
            throw new InvalidDataException($"'{path}:references' must be 2-D [N, D], but has shape [{string.Join(", ", references.Shape)}].");
        var metricName = Get("metric").ToStrings().FirstOrDefault();
        var metric = metricName switch
        {
            "euclidean" => KnnMetric.Euclidean,
            "cosine" => KnnMetric.Cosine,
            _ => throw new InvalidDataException($"'{path}:metric' is '{metricName}', expected 'euclidean' or 'cosine'."),
        };
        string[]? sources = arrays.TryGetValue("sources", out var s) ? s.ToStrings() : null;
        try
        {
            return new KnnIndex(references.ToFloat32(), references.Shape[1], Get("labels").ToInt32(), metric, Get("classes").ToStrings(), sources);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}' does not hold a valid KNN index: {e.Message}", e);
        }
    }

    private static string MetricName(KnnMetric metric) => metric == KnnMetric.Cosine ? "cosine" : "euclidean";
}
