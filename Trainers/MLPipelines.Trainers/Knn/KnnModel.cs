using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Knn;
using MLPipelines.Trainers.OnnxModel;

namespace MLPipelines.Trainers.Knn;

/// <summary>
/// A fitted k-nearest-neighbour classifier: stock ML.NET transformers running the search compiled to ONNX (the
/// reference vectors are an initializer of the graph), plus the C# <see cref="KnnIndex"/> for retrieval
/// (available on the fitted instance, not after loading a zip; save it with <see cref="SaveIndex"/>).
/// </summary>
public sealed class KnnModel : OnnxBackedModel
{
    internal KnnModel(TransformerChain<ITransformer> chain, byte[] onnx, KnnIndex index, int k, KnnWeighting weighting)
        : base(chain, onnx)
    {
        Index = index;
        K = k;
        Weighting = weighting;
    }

    /// <summary>The reference vectors, their labels and source ids, searchable from C#.</summary>
    public KnnIndex Index { get; }

    /// <summary>Number of neighbours that vote.</summary>
    public int K { get; }

    /// <summary>Vote weighting.</summary>
    public KnnWeighting Weighting { get; }

    /// <summary>Class names in key order (the order of the Score slots).</summary>
    public IReadOnlyList<string> Classes => Index.ClassNames;

    /// <summary>The <paramref name="k"/> training rows nearest to <paramref name="embedding"/>, nearest first.</summary>
    /// <param name="embedding">One feature vector (the same transforms as the training features).</param>
    /// <param name="k">Number of neighbours, 1 .. number of training rows.</param>
    /// <returns>Rank, reference index, label name, distance and source id of each neighbour.</returns>
    public IReadOnlyList<KnnNeighbor> Neighbors(ReadOnlySpan<float> embedding, int k) => Index.Neighbors(embedding, k);

    /// <summary>The <paramref name="k"/> nearest training rows of each embedding.</summary>
    /// <param name="embeddings">Feature vectors, row-major, a multiple of the feature dimension.</param>
    /// <param name="k">Number of neighbours per embedding.</param>
    public IReadOnlyList<IReadOnlyList<KnnNeighbor>> NeighborsBatch(ReadOnlySpan<float> embeddings, int k) => Index.NeighborsBatch(embeddings, k);

    /// <summary>Writes the index (vectors, labels, class names, source ids, metric) as a numpy <c>.npz</c>, atomically.</summary>
    /// <param name="path">Destination file; see <see cref="KnnIndexFile"/> for the layout.</param>
    public void SaveIndex(string path) => KnnIndexFile.Save(Index, path);
}
