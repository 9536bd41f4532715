using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Knn;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Knn;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>Result of <see cref="SimilarImages.Find"/>.</summary>
/// <param name="QueryPath">The query image.</param>
/// <param name="PredictedLabel">The KNN model's prediction for the query.</param>
/// <param name="Neighbors">The nearest training images, nearest first.</param>
public sealed record SimilarImagesResult(string QueryPath, string PredictedLabel, IReadOnlyList<KnnNeighbor> Neighbors);

/// <summary>
/// Image retrieval with an <c>m3-knn</c> run folder: the query is embedded by the run's own model.zip (stock ML.NET chain:
/// the backbone's <c>Features</c> column), then searched in the saved index (<see cref="Milestone3Knn.IndexFileName"/>).
/// </summary>
public static class SimilarImages
{
    /// <summary>Finds the <paramref name="k"/> training images nearest to <paramref name="imagePath"/>.</summary>
    /// <param name="runFolder">An m3-knn output folder holding model.zip and knn-index.npz.</param>
    /// <param name="imagePath">The query image.</param>
    /// <param name="k">Neighbours to return.</param>
    /// <returns>The prediction and the neighbours.</returns>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    public static SimilarImagesResult Find(string runFolder, string imagePath, int k = 8)
    {
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        string modelPath = Path.Combine(runFolder, "model.zip");
        string indexPath = Path.Combine(runFolder, Milestone3Knn.IndexFileName);
        foreach (var f in new[] { modelPath, indexPath, imagePath })
            if (!File.Exists(f)) throw new FileNotFoundException($"'{f}' was not found (an m3-knn run folder holds model.zip and {Milestone3Knn.IndexFileName}).", f);
        var index = KnnIndexFile.Load(indexPath);
        if (k < 1 || k > index.Count) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be 1 .. {index.Count} (the indexed images).");
        var ml = new MLContext(seed: 0);
        var model = ml.Model.Load(modelPath, out _);
        var query = ml.Data.LoadFromEnumerable(new[] { new QueryRow { ImagePath = Path.GetFullPath(imagePath) } });
        var scored = model.Transform(query);
        var featureColumn = scored.Schema[ColumnNames.Features];
        var predictedColumn = scored.Schema[ColumnNames.PredictedLabel];
        using var cursor = scored.GetRowCursor([featureColumn, predictedColumn]);
        var features = cursor.GetGetter<VBuffer<float>>(featureColumn);
        var predicted = cursor.GetGetter<uint>(predictedColumn);
        if (!cursor.MoveNext()) throw new InvalidOperationException("The model returned no row for the query.");
        VBuffer<float> embedding = default;
        uint label = 0;
        features(ref embedding);
        predicted(ref label);
        var vector = embedding.DenseValues().ToArray();
        if (vector.Length != index.Dimension)
            throw new InvalidDataException($"The model gives {vector.Length} features but the index holds vectors of {index.Dimension}.");
        var neighbors = index.Neighbors(vector, k);
        string name = label >= 1 && label <= index.ClassCount ? index.ClassNames[(int)label - 1] : "?";
        return new SimilarImagesResult(imagePath, name, neighbors);
    }

    /// <summary>Writes the query and its neighbours as a PNG gallery (via <see cref="RetrievalGallery"/>), atomically.</summary>
    /// <param name="result">The retrieval result.</param>
    /// <param name="path">Destination .png.</param>
    public static void SaveGallery(SimilarImagesResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        RetrievalGallery.Save(path, result.QueryPath, $"query\npredicted {result.PredictedLabel}", result.Neighbors,
            columns: Math.Min(result.Neighbors.Count + 1, 5), title: $"{result.Neighbors.Count} nearest training images");
    }

    private sealed class QueryRow
    {
        public string ImagePath { get; set; } = "";
    }
}
