using BenchmarkDotNet.Attributes;
using MLPipelines.Knn;

namespace MLPipelines.Benchmarks;

/// <summary>
/// KNN classification of 1,320 queries against 5,278 references of 512 dims (Stanford Cars size), k = 5, Euclidean,
/// uniform votes: the naive scalar per-pair loop (baseline) against <see cref="KnnIndex.Predict"/>.
/// Run: <c>dotnet run -c Release --project Benchmarks/MLPipelines.Benchmarks -- --filter '*KnnSearch*'</c>.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class KnnSearchBenchmark
{
    private const int K = 5;
    private KnnWorkload _workload = null!;
    private KnnIndex _index = null!;

    /// <summary>Builds the workload and the index once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _workload = KnnWorkload.Cars();
        _index = new KnnIndex(_workload.References, KnnWorkload.Dimension, _workload.Labels);
    }

    /// <summary>Scalar Σ(q − r)² for every pair, one thread.</summary>
    [Benchmark(Baseline = true)]
    public int[] Naive() => NaiveKnn.Predict(_workload.References, _workload.Labels, _workload.Queries, KnnWorkload.Dimension, K, KnnWorkload.Classes);

    /// <summary>Blocked GEMM distances + streaming top-k, all cores.</summary>
    [Benchmark]
    public int[] Engine() => _index.Predict(_workload.Queries, K).Labels;
}
