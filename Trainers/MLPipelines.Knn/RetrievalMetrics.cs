using System.Numerics.Tensors;

namespace MLPipelines.Knn;

/// <summary>Retrieval quality of embeddings: Recall@K and mean average precision.</summary>
/// <param name="RecallAt">Recall@K for each K asked for: the fraction of queries with at least one gallery item of their class among their K nearest (the deep-metric-learning definition used for Cars196).</param>
/// <param name="MeanAveragePrecision">Mean over the queries of the average precision of the whole gallery ranking (relevant = same class); queries whose class is not in the gallery count 0.</param>
/// <param name="QueryCount">Queries evaluated.</param>
public sealed record RetrievalScores(IReadOnlyDictionary<int, double> RecallAt, double MeanAveragePrecision, int QueryCount);

/// <summary>
/// Recall@K and mAP of queries against a gallery under cosine similarity (exact, every query against every gallery
/// item; ties are ranked by gallery index). No ML.NET.
/// </summary>
public static class RetrievalMetrics
{
    /// <summary>Scores <paramref name="queries"/> against <paramref name="gallery"/> (row-major [n, dimension] each).</summary>
    /// <param name="gallery">Gallery embeddings, row-major.</param>
    /// <param name="galleryLabels">Class of each gallery row.</param>
    /// <param name="queries">Query embeddings, row-major.</param>
    /// <param name="queryLabels">Class of each query row.</param>
    /// <param name="dimension">Features per row.</param>
    /// <param name="ks">The K values of Recall@K (each at least 1).</param>
    /// <returns>The scores.</returns>
    public static RetrievalScores Cosine(ReadOnlySpan<float> gallery, IReadOnlyList<int> galleryLabels, ReadOnlySpan<float> queries,
        IReadOnlyList<int> queryLabels, int dimension, IReadOnlyList<int> ks)
    {
        ArgumentNullException.ThrowIfNull(galleryLabels);
        ArgumentNullException.ThrowIfNull(queryLabels);
        ArgumentNullException.ThrowIfNull(ks);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        int n = galleryLabels.Count, q = queryLabels.Count;
        if (gallery.Length != (long)n * dimension) throw new ArgumentException($"The gallery has {gallery.Length} values, not {n} x {dimension}.", nameof(gallery));
        if (queries.Length != (long)q * dimension) throw new ArgumentException($"The queries have {queries.Length} values, not {q} x {dimension}.", nameof(queries));
        if (n == 0) throw new ArgumentException("The gallery is empty.", nameof(gallery));
        if (ks.Count == 0 || ks.Any(k => k < 1)) throw new ArgumentException("Every K must be at least 1.", nameof(ks));

        var unitGallery = Normalize(gallery, n, dimension);
        var relevantPerClass = new Dictionary<int, int>();
        foreach (int label in galleryLabels)
            relevantPerClass[label] = relevantPerClass.GetValueOrDefault(label) + 1;
        var hits = new long[ks.Count];
        double apSum = 0;
        var similarity = new float[n];
        var order = new int[n];
        var query = new float[dimension];
        for (int i = 0; i < q; i++)
        {
            Normalize(queries.Slice(i * dimension, dimension), query);
            for (int j = 0; j < n; j++)
                similarity[j] = TensorPrimitives.Dot(query, unitGallery.AsSpan(j * dimension, dimension));
            for (int j = 0; j < n; j++)
                order[j] = j;
            Array.Sort(order, (a, b) => similarity[a] != similarity[b] ? similarity[b].CompareTo(similarity[a]) : a.CompareTo(b));
            int label = queryLabels[i];
            int firstHit = -1, found = 0;
            double precisionSum = 0;
            int relevant = relevantPerClass.GetValueOrDefault(label);
            for (int r = 0; r < n && found < relevant; r++)
            {
                if (galleryLabels[order[r]] != label) continue;
                if (firstHit < 0) firstHit = r;
                found++;
                precisionSum += (double)found / (r + 1);
            }
            if (relevant > 0) apSum += precisionSum / relevant;
            for (int t = 0; t < ks.Count; t++)
                if (firstHit >= 0 && firstHit < ks[t]) hits[t]++;
        }
        var recall = new Dictionary<int, double>();
        for (int t = 0; t < ks.Count; t++)
            recall[ks[t]] = q == 0 ? 0 : (double)hits[t] / q;
        return new RetrievalScores(recall, q == 0 ? 0 : apSum / q, q);
    }

    private static float[] Normalize(ReadOnlySpan<float> rows, int n, int dimension)
    {
        var result = new float[rows.Length];
        for (int i = 0; i < n; i++)
            Normalize(rows.Slice(i * dimension, dimension), result.AsSpan(i * dimension, dimension));
        return result;
    }

    private static void Normalize(ReadOnlySpan<float> row, Span<float> destination)
    {
        float norm = MathF.Max(MathF.Sqrt(TensorPrimitives.SumOfSquares(row)), 1e-12f);
        TensorPrimitives.Divide(row, norm, destination);
    }
}
