using MLPipelines.Mlp.Kernels;

namespace MLPipelines.Tests.Mlp;

public sealed class GemmTests
{
    public static TheoryData<int, bool, bool> Cases()
    {
        var data = new TheoryData<int, bool, bool>();
        foreach (GemmPath p in new[] { GemmPath.Vector512, GemmPath.Vector256, GemmPath.Scalar })
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    data.Add((int)p, ta, tb);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesScalarTripleLoop(int pathIndex, bool transA, bool transB)
    {
        var path = (GemmPath)pathIndex;
        var rng = new Random(1234 + ((int)path * 4) + (transA ? 2 : 0) + (transB ? 1 : 0));
        var shapes = new List<(int M, int N, int K)>
        {
            (1, 1, 1), (4, 64, 1), (32, 64, 784), (5, 37, 2100), (9, 64, 1100), (1, 1, 70), (70, 1, 5), (70, 70, 70), (3, 100, 9), (33, 17, 65), (64, 1, 32), (32, 1, 64), (7, 128, 3),
        };
        for (int t = 0; t < 60; t++)
        {
            shapes.Add((rng.Next(1, 71), rng.Next(1, 71), rng.Next(1, 71)));
        }

        Gemm.ForcedPath = path;
        try
        {
            int index = 0;
            foreach ((int m, int n, int k) in shapes)
            {
                // Leading dimensions larger than needed, to catch stride mix-ups.
                int lda = (transA ? m : k) + (index % 3);
                int ldb = (transB ? k : n) + (index % 2);
                int ldc = n + (index % 4);
                float alpha = index % 3 == 0 ? 1f : -0.7f;
                float beta = (index % 4) switch { 0 => 0f, 1 => 1f, 2 => 0.5f, _ => 0f };
                bool withBias = index % 2 == 1;
                index++;

                float[] a = Random(rng, (transA ? k : m) * lda);
                float[] b = Random(rng, (transB ? n : k) * ldb);
                float[] c = Random(rng, m * ldc);
                float[] bias = withBias ? Random(rng, n) : [];
                float[] original = (float[])c.Clone();
                if (beta == 0f)
                {
                    Array.Fill(c, float.NaN); // beta = 0 must not read C
                }

                Gemm.Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias);

                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double sum = 0, mag = 0;
                        for (int p = 0; p < k; p++)
                        {
                            double av = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                            double bv = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                            sum += av * bv;
                            mag += Math.Abs(av * bv);
                        }

                        double expected = (alpha * sum) + (beta * original[(i * ldc) + j]) + (withBias ? bias[j] : 0);
                        double tol = (1e-5 * ((Math.Abs(alpha) * mag) + Math.Abs(beta * original[(i * ldc) + j]) + (withBias ? Math.Abs(bias[j]) : 0))) + 1e-6;
                        double actual = c[(i * ldc) + j];
                        Assert.True(
                            Math.Abs(actual - expected) <= tol,
                            $"path {path} tA={transA} tB={transB} m={m} n={n} k={k} at ({i},{j}): {actual} vs {expected}");
                    }

                    // Padding columns of C untouched.
                    for (int j = n; j < ldc && beta != 0f; j++)
                    {
                        Assert.Equal(original[(i * ldc) + j], c[(i * ldc) + j]);
                    }
                }
            }
        }
        finally
        {
            Gemm.ForcedPath = GemmPath.Auto;
        }
    }

    [Theory]
    [InlineData(false, false, 32, 64, 784)]
    [InlineData(true, false, 784, 64, 32)]
    [InlineData(false, true, 37, 130, 300)]
    public void TwoThreadsGiveBitwiseTheSameResultAsOne(bool transA, bool transB, int m, int n, int k)
    {
        var rng = new Random(m + n + k);
        float[] a = Random(rng, m * k), b = Random(rng, k * n), bias = Random(rng, n);
        float[] c1 = Random(rng, m * n), c2 = (float[])c1.Clone();
        Assert.True((long)m * n * k >= Gemm.ParallelThreshold);
        int saved = Gemm.MaxThreads;
        try
        {
            Gemm.MaxThreads = 1;
            Gemm.Multiply(transA, transB, m, n, k, 0.3f, a, transA ? m : k, b, transB ? k : n, 0.9f, c1, n, bias);
            Gemm.MaxThreads = 2;
            Gemm.AlwaysSplit = true;
            Gemm.Multiply(transA, transB, m, n, k, 0.3f, a, transA ? m : k, b, transB ? k : n, 0.9f, c2, n, bias);
        }
        finally
        {
            Gemm.MaxThreads = saved;
            Gemm.AlwaysSplit = false;
        }

        Assert.Equal(c1, c2);
    }

    [Fact]
    public void RejectsTooSmallBuffers()
    {
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 4, 4, 4, 1f, new float[15], 4, new float[16], 4, 0f, new float[16], 4));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 4, 4, 4, 1f, new float[16], 4, new float[16], 4, 0f, new float[15], 4));
    }

    [Fact]
    public void ReportsAnAcceleratedPathWhereAvailable()
    {
        GemmPath p = Gemm.ActivePath;
        Assert.NotEqual(GemmPath.Auto, p);
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            Assert.Equal(GemmPath.Vector512, p);
        }
    }

    private static float[] Random(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return x;
    }
}
