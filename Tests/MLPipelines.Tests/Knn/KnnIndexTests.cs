using MLPipelines.Knn;

namespace MLPipelines.Tests.Knn;

/// <summary>Brute-force scalar KNN in double precision: the reference the engine is checked against.</summary>
internal static class BruteForceKnn
{
    public static double Distance(ReadOnlySpan<float> q, ReadOnlySpan<float> r, KnnMetric metric)
    {
        if (metric == KnnMetric.Euclidean)
        {
            double s = 0;
            for (int j = 0; j < q.Length; j++)
                s += ((double)q[j] - r[j]) * ((double)q[j] - r[j]);
            return Math.Sqrt(s);
        }

        double dot = 0, qq = 0, rr = 0;
        for (int j = 0; j < q.Length; j++)
        {
            dot += (double)q[j] * r[j];
            qq += (double)q[j] * q[j];
            rr += (double)r[j] * r[j];
        }

        double nq = Math.Sqrt(qq), nr = Math.Sqrt(rr);
        return nq == 0 || nr == 0 ? 1.0 : 1.0 - (dot / (nq * nr));
    }

    /// <summary>All distances of query q, and the k nearest sorted by (distance, index).</summary>
    public static (double[] All, int[] Nearest) Search(float[] refs, float[] queries, int d, int q, int k, KnnMetric metric)
    {
        int n = refs.Length / d;
        var all = new double[n];
        for (int r = 0; r < n; r++)
            all[r] = Distance(queries.AsSpan(q * d, d), refs.AsSpan(r * d, d), metric);
        var nearest = Enumerable.Range(0, n).OrderBy(r => all[r]).ThenBy(r => r).Take(k).ToArray();
        return (all, nearest);
    }

    public static (double[] Shares, int Label) Vote(int[] nearest, double[] all, int[] labels, int classes, KnnWeighting weighting)
    {
        var votes = new double[classes];
        foreach (var r in nearest)
            votes[labels[r]] += weighting == KnnWeighting.Uniform ? 1.0 : 1.0 / (all[r] + KnnIndex.WeightEpsilon);
        double total = votes.Sum();
        int best = 0;
        for (int c = 0; c < classes; c++)
        {
            votes[c] /= total;
            if (votes[c] > votes[best])
                best = c;
        }

        return (votes, best);
    }
}

public class KnnIndexTests
{
    private static float[] Gaussian(Random random, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return x;
    }

    /// <summary>Small integers: every dot product and squared distance is exact in float, so ties are exact too.</summary>
    private static float[] Integers(Random random, int count, int range = 3)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = random.Next(-range, range + 1);
        return x;
    }

    private static int[] RandomLabels(Random random, int n, int classes)
        => Enumerable.Range(0, n).Select(_ => random.Next(classes)).ToArray();

    public static TheoryData<int, int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int, int>();
        int[][] shapes = [[1, 1, 1], [5, 3, 7], [63, 16, 65], [64, 17, 64], [65, 5, 3], [130, 70, 129], [300, 33, 200]];
        foreach (var s in shapes)
        {
            foreach (var k in new[] { 1, 3, 10 })
            {
                if (k <= s[0])
                    data.Add(s[0], s[1], s[2], k);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Search_matches_brute_force_on_gaussian_vectors(int n, int d, int m, int k)
    {
        foreach (var metric in new[] { KnnMetric.Euclidean, KnnMetric.Cosine })
        {
            var random = new Random(n * 1000 + d * 10 + k);
            var refs = Gaussian(random, n * d);
            var queries = Gaussian(random, m * d);
            var index = new KnnIndex(refs, d, RandomLabels(random, n, 4), metric);
            var found = index.Search(queries, k);
            for (int q = 0; q < m; q++)
            {
                var (all, nearest) = BruteForceKnn.Search(refs, queries, d, q, k, metric);
                for (int r = 0; r < k; r++)
                {
                    int got = found.Indices[(q * k) + r];
                    float distance = found.Distances[(q * k) + r];
                    double tolerance = 1e-4 * Math.Max(1, all[nearest[r]]);
                    // Same rank distance as brute force, and the returned reference really is at that distance
                    // (near-equal distances may swap under float rounding; exact ties are tested on integer data).
                    Assert.True(Math.Abs(distance - all[nearest[r]]) <= tolerance,
                        $"{metric} n={n} d={d} k={k} query {q} rank {r}: {distance} vs brute force {all[nearest[r]]}");
                    Assert.True(Math.Abs(all[got] - all[nearest[r]]) <= tolerance, $"{metric} query {q} rank {r}: index {got} vs {nearest[r]}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Euclidean_search_and_votes_are_exact_on_integer_vectors(int n, int d, int m, int k)
    {
        var random = new Random(n + d + m + k);
        var refs = Integers(random, n * d, d > 30 ? 1 : 3); // few distinct distances: many exact ties
        var queries = Integers(random, m * d, d > 30 ? 1 : 3);
        var labels = RandomLabels(random, n, 3);
        var index = new KnnIndex(refs, d, labels, KnnMetric.Euclidean, ["a", "b", "c"]);
        var found = index.Search(queries, k);
        foreach (var weighting in new[] { KnnWeighting.Uniform, KnnWeighting.Distance })
        {
            var predicted = index.Predict(queries, k, weighting);
            for (int q = 0; q < m; q++)
            {
                var (all, nearest) = BruteForceKnn.Search(refs, queries, d, q, k, KnnMetric.Euclidean);
                Assert.Equal(nearest, found.Indices.AsSpan(q * k, k).ToArray());
                for (int r = 0; r < k; r++)
                    Assert.Equal(all[nearest[r]], found.Distances[(q * k) + r], 1e-5 * Math.Max(1, all[nearest[r]]));
                var (shares, label) = BruteForceKnn.Vote(nearest, all, labels, 3, weighting);
                for (int c = 0; c < 3; c++)
                    Assert.Equal(shares[c], predicted.Shares[(q * 3) + c], 1e-5);
                Assert.Equal(label, predicted.Labels[q]);
            }
        }
    }

    [Fact]
    public void Cosine_votes_match_brute_force_for_both_weightings()
    {
        var random = new Random(7);
        int n = 257, d = 24, m = 90, classes = 5;
        var refs = Gaussian(random, n * d);
        var queries = Gaussian(random, m * d);
        var labels = RandomLabels(random, n, classes);
        var index = new KnnIndex(refs, d, labels, KnnMetric.Cosine);
        foreach (var k in new[] { 1, 3, 10 })
        {
            foreach (var weighting in new[] { KnnWeighting.Uniform, KnnWeighting.Distance })
            {
                var predicted = index.Predict(queries, k, weighting);
                for (int q = 0; q < m; q++)
                {
                    var (all, nearest) = BruteForceKnn.Search(refs, queries, d, q, k, KnnMetric.Cosine);
                    var (shares, label) = BruteForceKnn.Vote(nearest, all, labels, classes, weighting);
                    for (int c = 0; c < classes; c++)
                        Assert.Equal(shares[c], predicted.Shares[(q * classes) + c], 1e-4);
                    Assert.Equal(label, predicted.Labels[q]);
                }
            }
        }
    }

    [Fact]
    public void Results_do_not_depend_on_the_number_of_threads()
    {
        var random = new Random(3);
        int n = 500, d = 40, m = 333;
        var refs = Gaussian(random, n * d);
        var queries = Gaussian(random, m * d);
        var index = new KnnIndex(refs, d, RandomLabels(random, n, 3));
        index.MaxDegreeOfParallelism = 1;
        var one = index.Search(queries, 7);
        index.MaxDegreeOfParallelism = 4;
        var four = index.Search(queries, 7);
        Assert.Equal(one.Indices, four.Indices);
        Assert.Equal(one.Distances, four.Distances);
    }

    [Theory]
    [InlineData(KnnMetric.Euclidean)]
    [InlineData(KnnMetric.Cosine)]
    public void Few_queries_split_over_reference_ranges_give_the_same_answers(KnnMetric metric)
    {
        // 1,000 references = 16 panels; 5 queries = one block, so 2..8 threads split the references.
        var random = new Random(21);
        int n = 1000, d = 10, m = 5;
        var refs = Integers(random, n * d, 1); // many exact ties across the parts
        var queries = Integers(random, m * d, 1);
        var index = new KnnIndex(refs, d, RandomLabels(random, n, 3), metric) { MaxDegreeOfParallelism = 1 };
        var serial = index.Search(queries, 10);
        foreach (var threads in new[] { 2, 3, 8 })
        {
            index.MaxDegreeOfParallelism = threads;
            var split = index.Search(queries, 10);
            Assert.Equal(serial.Indices, split.Indices);
            Assert.Equal(serial.Distances, split.Distances);
        }

        if (metric == KnnMetric.Euclidean)
        {
            for (int q = 0; q < m; q++)
                Assert.Equal(BruteForceKnn.Search(refs, queries, d, q, 10, metric).Nearest, serial.Indices.AsSpan(q * 10, 10).ToArray());
        }
    }

    [Theory]
    [InlineData("Vector256")]
    [InlineData("Scalar")]
    public void Narrower_gemm_paths_give_the_same_neighbours(string pathName)
    {
        var path = Enum.Parse<MLPipelines.Mlp.Kernels.GemmPath>(pathName);
        // One query block on the calling thread, so the per-thread forced path applies.
        var random = new Random(11);
        int n = 150, d = 21, m = 40;
        var refs = Integers(random, n * d);
        var queries = Integers(random, m * d);
        var index = new KnnIndex(refs, d, RandomLabels(random, n, 3)) { MaxDegreeOfParallelism = 1 };
        var previous = MLPipelines.Mlp.Kernels.Gemm.ForcedPath;
        MLPipelines.Mlp.Kernels.Gemm.ForcedPath = path;
        try
        {
            var found = index.Search(queries, 6);
            for (int q = 0; q < m; q++)
                Assert.Equal(BruteForceKnn.Search(refs, queries, d, q, 6, KnnMetric.Euclidean).Nearest, found.Indices.AsSpan(q * 6, 6).ToArray());
        }
        finally
        {
            MLPipelines.Mlp.Kernels.Gemm.ForcedPath = previous;
        }
    }

    [Fact]
    public void Duplicated_references_come_back_in_index_order()
    {
        foreach (var metric in new[] { KnnMetric.Euclidean, KnnMetric.Cosine })
        {
            // 200 references: copies of one vector at rows 5, 70, 71 and 199 (different panels), the rest far away.
            int n = 200, d = 9;
            var random = new Random(1);
            var refs = Gaussian(random, n * d);
            for (int i = 0; i < refs.Length; i++)
                refs[i] += 10f;
            var target = Gaussian(random, d);
            foreach (var row in new[] { 199, 71, 5, 70 })
                target.CopyTo(refs.AsSpan(row * d, d));
            var index = new KnnIndex(refs, d, new int[n], metric);
            var found = index.Search(target, 4);
            Assert.Equal([5, 70, 71, 199], found.Indices);
            Assert.All(found.Distances, v => Assert.Equal(found.Distances[0], v));
            Assert.Equal(0f, found.Distances[0], 1e-3f);
        }
    }

    [Fact]
    public void Equal_votes_go_to_the_smaller_class()
    {
        // Query at 0; references at distance 1 (label 2) and distance 1 (label 1), then farther ones.
        float[] refs = [1, 0, 0, 1, 5, 5, 6, 6];
        var index = new KnnIndex(refs, 2, [2, 1, 0, 0]);
        var uniform = index.Predict([0f, 0f], 2);
        Assert.Equal([0f, 0.5f, 0.5f], uniform.Shares);
        Assert.Equal(1, uniform.Labels[0]);
        var weighted = index.Predict([0f, 0f], 2, KnnWeighting.Distance);
        Assert.Equal(weighted.Shares[1], weighted.Shares[2]);
        Assert.Equal(1, weighted.Labels[0]);
    }

    [Fact]
    public void Distance_weighting_lets_a_close_neighbour_outvote_two_far_ones()
    {
        float[] refs = [0.1f, 0, 3, 0, 0, 3];
        var index = new KnnIndex(refs, 2, [1, 0, 0]);
        Assert.Equal(0, index.Predict([0f, 0f], 3).Labels[0]);
        Assert.Equal(1, index.Predict([0f, 0f], 3, KnnWeighting.Distance).Labels[0]);
    }

    [Fact]
    public void Neighbors_report_rank_label_distance_and_source()
    {
        float[] refs = [0, 0, 3, 4, 1, 0];
        var index = new KnnIndex(refs, 2, [0, 1, 1], KnnMetric.Euclidean, ["cat", "dog"], ["a.png", "b.png", "c.png"]);
        var neighbours = index.Neighbors([0f, 0f], 3);
        Assert.Equal(new KnnNeighbor(0, 0, 0, "cat", 0f, "a.png"), neighbours[0]);
        Assert.Equal(new KnnNeighbor(1, 2, 1, "dog", 1f, "c.png"), neighbours[1]);
        Assert.Equal(new KnnNeighbor(2, 1, 1, "dog", 5f, "b.png"), neighbours[2]);
        var batch = index.NeighborsBatch([0f, 0f, 3f, 4f], 1);
        Assert.Equal(2, batch.Count);
        Assert.Equal("b.png", batch[1][0].SourceId);
    }

    [Fact]
    public void Stored_references_can_be_read_back()
    {
        var random = new Random(5);
        var refs = Gaussian(random, 130 * 6);
        var index = new KnnIndex(refs, 6, new int[130]);
        Assert.Equal(refs, index.GetReferences());
        var cosine = new KnnIndex(refs, 6, new int[130], KnnMetric.Cosine);
        var row = new float[6];
        cosine.CopyReference(129, row);
        Assert.Equal(1.0, Math.Sqrt(row.Sum(v => (double)v * v)), 1e-6);
    }

    [Fact]
    public void Errors_name_the_row_or_k()
    {
        float[] refs = [0, 0, 1, 1, 2, float.NaN];
        var bad = Assert.Throws<ArgumentException>(() => new KnnIndex(refs, 2, [0, 1, 0]));
        Assert.Contains("reference row 2", bad.Message);

        var index = new KnnIndex([0f, 0f, 1f, 1f], 2, [0, 1]);
        var query = Assert.Throws<ArgumentException>(() => index.Search([0f, 0f, float.PositiveInfinity, 0f], 1));
        Assert.Contains("query row 1", query.Message);
        var k = Assert.Throws<ArgumentOutOfRangeException>(() => index.Search([0f, 0f], 3));
        Assert.Equal("k", k.ParamName);
        Assert.Contains("k = 3", k.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search([0f, 0f], 0));
        Assert.Throws<ArgumentException>(() => index.Search([0f, 0f, 1f], 1));
        Assert.Throws<ArgumentException>(() => new KnnIndex([0f, 0f], 2, [-1]));
        Assert.Throws<ArgumentException>(() => new KnnIndex([0f, 0f], 2, [2], classNames: ["a", "b"]));
        Assert.Throws<ArgumentException>(() => new KnnIndex([0f, 0f], 2, [0], sourceIds: ["a", "b"]));
        Assert.Throws<ArgumentException>(() => new KnnIndex([0f, 0f, 1f], 2, [0]));
    }
}
