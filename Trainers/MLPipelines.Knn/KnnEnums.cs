namespace MLPipelines.Knn;

/// <summary>How the distance between a query and a reference vector is measured.</summary>
public enum KnnMetric
{
    /// <summary>Euclidean (L2) distance <c>‖q − r‖</c>.</summary>
    Euclidean,

    /// <summary>Cosine distance <c>1 − q·r / (‖q‖ ‖r‖)</c>; a zero vector stays zero (distance 1 to everything).</summary>
    Cosine,
}

/// <summary>How the k neighbours' votes are weighted.</summary>
public enum KnnWeighting
{
    /// <summary>Every neighbour votes 1.</summary>
    Uniform,

    /// <summary>A neighbour at distance d votes <c>1 / (d + ε)</c> with ε = <see cref="KnnIndex.WeightEpsilon"/>.</summary>
    Distance,
}
