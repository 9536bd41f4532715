namespace MLPipelines.Knn;

/// <summary>The k nearest references of each query, nearest first (equal distances: smaller reference index first).</summary>
public sealed class KnnSearchResult
{
    internal KnnSearchResult(int queryCount, int k, int[] indices, float[] distances)
    {
        QueryCount = queryCount;
        K = k;
        Indices = indices;
        Distances = distances;
    }

    /// <summary>Number of queries.</summary>
    public int QueryCount { get; }

    /// <summary>Neighbours per query.</summary>
    public int K { get; }

    /// <summary>Reference indices, <see cref="QueryCount"/> × <see cref="K"/>, row-major.</summary>
    public int[] Indices { get; }

    /// <summary>Distances matching <see cref="Indices"/> (Euclidean or cosine distance, never negative).</summary>
    public float[] Distances { get; }
}

/// <summary>Vote shares per class and the winning class of each query.</summary>
public sealed class KnnPrediction
{
    internal KnnPrediction(int queryCount, int classCount, float[] shares, int[] labels)
    {
        QueryCount = queryCount;
        ClassCount = classCount;
        Shares = shares;
        Labels = labels;
    }

    /// <summary>Number of queries.</summary>
    public int QueryCount { get; }

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; }

    /// <summary>Vote shares, <see cref="QueryCount"/> × <see cref="ClassCount"/>, row-major; each row sums to 1.</summary>
    public float[] Shares { get; }

    /// <summary>Class with the largest share per query (equal shares: smaller class index).</summary>
    public int[] Labels { get; }
}

/// <summary>One retrieved neighbour.</summary>
/// <param name="Rank">0 for the nearest neighbour, then 1, 2, ...</param>
/// <param name="ReferenceIndex">Row of the reference vector in the index.</param>
/// <param name="Label">Class index of the reference.</param>
/// <param name="LabelName">Class name of the reference (the class index as text when the index has no names).</param>
/// <param name="Distance">Distance from the query.</param>
/// <param name="SourceId">Source id of the reference (e.g. an image path), or null when the index has none.</param>
public sealed record KnnNeighbor(int Rank, int ReferenceIndex, int Label, string LabelName, float Distance, string? SourceId);
