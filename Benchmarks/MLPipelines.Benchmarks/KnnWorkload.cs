using MLPipelines.Knn;

namespace MLPipelines.Benchmarks;

/// <summary>
/// Synthetic embedding workloads for the KNN benchmarks: class-clustered 512-dimensional vectors (196 classes,
/// like Stanford Cars), seeded, so C# and scikit-learn see the same numbers (written as .npy by <c>knn-quick --npy</c>).
/// </summary>
internal sealed class KnnWorkload
{
    public const int Dimension = 512;
    public const int Classes = 196;

    private KnnWorkload(string name, int references, int queries, float[] referenceVectors, int[] labels, float[] queryVectors)
    {
        Name = name;
        ReferenceCount = references;
        QueryCount = queries;
        References = referenceVectors;
        Labels = labels;
        Queries = queryVectors;
    }

    public string Name { get; }

    public int ReferenceCount { get; }

    public int QueryCount { get; }

    public float[] References { get; }

    public int[] Labels { get; }

    public float[] Queries { get; }

    /// <summary>Multiply-add FLOPs of the distance products: 2·M·N·D.</summary>
    public double Flops => 2.0 * QueryCount * ReferenceCount * Dimension;

    /// <summary>(a) Stanford Cars size: 5,278 references, 1,320 queries.</summary>
    public static KnnWorkload Cars() => Create("cars", 5_278, 1_320, seed: 1);

    /// <summary>(b) 100,000 references, 10,000 queries.</summary>
    public static KnnWorkload Large() => Create("large", 100_000, 10_000, seed: 2);

    public static KnnWorkload Create(string name, int references, int queries, int seed)
    {
        var random = new Random(seed);
        var centres = Gaussian(random, Classes * Dimension, 1f);
        var labels = new int[references];
        var refs = Sample(random, centres, references, labels);
        var queryVectors = Sample(random, centres, queries, new int[queries]);
        return new KnnWorkload(name, references, queries, refs, labels, queryVectors);
    }

    private static float[] Sample(Random random, float[] centres, int count, int[] labels)
    {
        var x = Gaussian(random, count * Dimension, 1.2f);
        for (int i = 0; i < count; i++)
        {
            int c = labels[i] = random.Next(Classes);
            for (int j = 0; j < Dimension; j++)
                x[(i * Dimension) + j] += centres[(c * Dimension) + j];
        }
        return x;
    }

    private static float[] Gaussian(Random random, int count, float scale)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = scale * (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return x;
    }
}

/// <summary>
/// The naive baseline: for every (query, reference) pair a scalar loop Σ (q − r)², then insertion into a sorted
/// top-k list, single-threaded; uniform votes. Same tie rules as <see cref="KnnIndex"/>.
/// </summary>
internal static class NaiveKnn
{
    public static int[] Predict(float[] references, int[] labels, float[] queries, int dimension, int k, int classes)
    {
        int n = labels.Length, m = queries.Length / dimension;
        var result = new int[m];
        var topD = new float[k];
        var topI = new int[k];
        var votes = new int[classes];
        for (int q = 0; q < m; q++)
        {
            int count = 0;
            for (int r = 0; r < n; r++)
            {
                float s = 0f;
                for (int j = 0; j < dimension; j++)
                {
                    float diff = queries[(q * dimension) + j] - references[(r * dimension) + j];
                    s += diff * diff;
                }

                if (count == k && !(s < topD[k - 1]))
                    continue;
                int pos = count < k ? count++ : k - 1;
                while (pos > 0 && topD[pos - 1] > s)
                {
                    topD[pos] = topD[pos - 1];
                    topI[pos] = topI[pos - 1];
                    pos--;
                }
                topD[pos] = s;
                topI[pos] = r;
            }

            Array.Clear(votes);
            for (int i = 0; i < k; i++)
                votes[labels[topI[i]]]++;
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (votes[c] > votes[best])
                    best = c;
            }
            result[q] = best;
        }
        return result;
    }
}
