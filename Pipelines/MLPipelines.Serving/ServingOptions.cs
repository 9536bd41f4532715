namespace MLPipelines.Serving;

/// <summary>How concurrent requests share the model.</summary>
public enum ScoringMode
{
    /// <summary>One ML.NET prediction engine per request, taken from a pool (engines are not thread-safe).</summary>
    Pool,

    /// <summary>Concurrent requests are queued and scored together, one data view per batch, by one worker.</summary>
    Batch,
}

/// <summary>Options of <see cref="ServingHost"/>.</summary>
public sealed class ServingOptions
{
    /// <summary>A model zip written by an MLPipelines command, or the run folder holding its <c>model.zip</c>.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>An <c>m3-knn</c> run folder (model.zip + knn-index.npz) for <c>/similar</c>; null disables retrieval. The default value is null.</summary>
    public string? IndexFolder { get; set; }

    /// <summary>Addresses Kestrel listens on (semicolon-separated). The default value is "http://127.0.0.1:5000".</summary>
    public string Urls { get; set; } = "http://127.0.0.1:5000";

    /// <summary>Largest request body in bytes; larger requests get 413. The default value is 20 MB (20 × 1024 × 1024).</summary>
    public long MaxRequestBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Largest image (width × height) accepted; larger images get 400 before they are decoded. The default value is 40,000,000.</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>Most files (or .npy rows) scored in one request. The default value is 32.</summary>
    public int MaxItemsPerRequest { get; set; } = 32;

    /// <summary>Classes returned in <c>scores</c> when a model has more than this many (the most probable first). The default value is 10.</summary>
    public int TopK { get; set; } = 10;

    /// <summary>Largest <c>k</c> of <c>/similar</c>. The default value is 64.</summary>
    public int MaxNeighbors { get; set; } = 64;

    /// <summary>How concurrent requests share the model. The default value is <see cref="ScoringMode.Pool"/> (measured faster; see docs/serving.md).</summary>
    public ScoringMode Scoring { get; set; } = ScoringMode.Pool;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath))
            throw new ArgumentException("ModelPath is required (a model.zip or a run folder holding one).", nameof(ModelPath));
        if (string.IsNullOrWhiteSpace(Urls))
            throw new ArgumentException("Urls must not be empty.", nameof(Urls));
        if (MaxRequestBytes < 1024)
            throw new ArgumentOutOfRangeException(nameof(MaxRequestBytes), MaxRequestBytes, "MaxRequestBytes must be at least 1024.");
        if (MaxImagePixels < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxImagePixels), MaxImagePixels, "MaxImagePixels must be positive.");
        if (MaxItemsPerRequest < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxItemsPerRequest), MaxItemsPerRequest, "MaxItemsPerRequest must be positive.");
        if (TopK < 1)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be positive.");
        if (MaxNeighbors < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxNeighbors), MaxNeighbors, "MaxNeighbors must be positive.");
    }
}
