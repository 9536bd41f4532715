using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLPipelines.Mlp.Kernels;

/// <summary>Which instruction set the matrix product uses.</summary>
internal enum GemmPath
{
    /// <summary>Pick the widest accelerated vectors.</summary>
    Auto,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512,

    /// <summary>256-bit vectors (AVX2 / FMA).</summary>
    Vector256,

    /// <summary>Plain scalar loops.</summary>
    Scalar,
}

/// <summary>
/// Single-precision general matrix product <c>C = alpha · op(A) · op(B) + beta · C + bias</c> (row-major),
/// cache-blocked over the depth and over 4-vector column panels, register-tiled 4 rows × 4 vectors.
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>Depth block: a KC × 64 panel of B (256 KiB) stays in L2 while all rows stream past it.</summary>
    internal const int DepthBlock = 1024;

    /// <summary>Tests set this (per thread) to exercise a particular path; <see cref="GemmPath.Auto"/> in production.</summary>
    [ThreadStatic]
    private static GemmPath t_forcedPath;

    internal static GemmPath ForcedPath
    {
        get => t_forcedPath;
        set => t_forcedPath = value;
    }

    [ThreadStatic]
    private static float[]? t_pack;

    /// <summary>Gets or sets a value indicating whether eligible products are always split (tests), bypassing the tuner.</summary>
    internal static bool AlwaysSplit { get; set; }

    [ThreadStatic]
    private static float[]? t_column;

    /// <summary>
    /// Products with at least this many multiply-adds (m·n·k) are split by rows of C over two threads when
    /// <see cref="MaxThreads"/> allows. Each element of C is still computed by one thread with the same
    /// instruction sequence, so results do not depend on the split.
    /// </summary>
    internal const long ParallelThreshold = 1_000_000;

    /// <summary>
    /// Gets or sets the most threads one product may use (1 or 2). Defaults to 2 on machines with 2 or more cores;
    /// with 2, large products are split when measurements say it is faster (see <c>Tuner</c>).
    /// </summary>
    internal static int MaxThreads { get; set; } = Environment.ProcessorCount >= 2 ? 2 : 1;

    /// <summary>The path <see cref="Multiply"/> takes now.</summary>
    internal static GemmPath ActivePath
    {
        get
        {
            GemmPath p = ForcedPath;
            if (p == GemmPath.Vector512 && !Vector512.IsHardwareAccelerated)
            {
                p = GemmPath.Auto;
            }

            if (p == GemmPath.Vector256 && !Vector256.IsHardwareAccelerated)
            {
                p = GemmPath.Auto;
            }

            if (p != GemmPath.Auto)
            {
                return p;
            }

            return Vector512.IsHardwareAccelerated ? GemmPath.Vector512
                : Vector256.IsHardwareAccelerated ? GemmPath.Vector256
                : GemmPath.Scalar;
        }
    }

    /// <summary>
    /// <c>C[i, j] = alpha · Σ_p op(A)[i, p] · op(B)[p, j] + beta · C[i, j] + bias[j]</c> for an m × n result.
    /// op(A) is m × k: <c>A[i * lda + p]</c>, or <c>A[p * lda + i]</c> when <paramref name="transA"/>.
    /// op(B) is k × n: <c>B[p * ldb + j]</c>, or <c>B[j * ldb + p]</c> when <paramref name="transB"/>.
    /// When <paramref name="beta"/> is 0 the old contents of C are ignored (may be garbage). An empty bias means none.
    /// <paramref name="serial"/> keeps the product on the calling thread (never split with the helper thread): callers
    /// that already run one product per core (e.g. the KNN search over query blocks) pass it so the cores are not
    /// oversubscribed. Results are bitwise the same either way.
    /// </summary>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc, ReadOnlySpan<float> bias = default, bool serial = false)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(m), "Matrix sizes must be non-negative.");
        }

        if (m == 0 || n == 0)
        {
            return;
        }

        Require(ldc >= n && c.Length >= ((long)(m - 1) * ldc) + n, nameof(c));
        Require(bias.IsEmpty || bias.Length >= n, nameof(bias));
        if (k > 0)
        {
            Require(transA ? lda >= m && a.Length >= ((long)(k - 1) * lda) + m : lda >= k && a.Length >= ((long)(m - 1) * lda) + k, nameof(a));
            Require(transB ? ldb >= k && b.Length >= ((long)(n - 1) * ldb) + k : ldb >= n && b.Length >= ((long)(k - 1) * ldb) + n, nameof(b));
        }

        if (transB && k > 0)
        {
            int size = k * n;
            float[] pack = t_pack is { } existing && existing.Length >= size ? existing : (t_pack = new float[Math.Max(size, 4096)]);
            PackTransposed(b, ldb, k, n, pack);
            b = pack;
            ldb = n;
        }

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        fixed (float* pbias = bias)
        {
            Core(ActivePath, serial, transA, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, bias.IsEmpty ? null : pbias);
        }
    }

    private static void Require(bool ok, string name)
    {
        if (!ok)
        {
            throw new ArgumentException("The buffer is too small for the given matrix sizes and leading dimension.", name);
        }
    }

    /// <summary>dst[p * n + j] = src[j * ld + p]: op(B) = Bᵀ made row-major.</summary>
    private static void PackTransposed(ReadOnlySpan<float> src, int ld, int k, int n, Span<float> dst)
    {
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<float> row = src.Slice(j * ld, k);
            for (int p = 0; p < row.Length; p++)
            {
                dst[(p * n) + j] = row[p];
            }
        }
    }

    private static void Core(GemmPath path, bool serial, bool transA, int m, int n, int k, float alpha, float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc, float* bias)
    {
        nint rsA = transA ? 1 : lda;
        nint csA = transA ? lda : 1;
        int nVectorCols = 0;
        if (k > 0)
        {
            if (path is GemmPath.Vector512 or GemmPath.Vector256)
            {
                int width = path == GemmPath.Vector512 ? Vector512Ops.Width : Vector256Ops.Width;
                nVectorCols = n - (n % width);
                int split = (m / 2) & ~3; // a multiple of 4, so the row tiles are the same as unsplit
                long macs = (long)m * nVectorCols * k;
                bool eligible = !serial && MaxThreads >= 2 && split >= 4 && macs >= ParallelThreshold;
                bool parallel = eligible && (AlwaysSplit || Tuner.ChooseParallel());
                long t0 = eligible ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                if (parallel && Helper.TryRun(path, m - split, nVectorCols, k, alpha, a + (split * rsA), rsA, csA, b, ldb, beta, c + (split * ldc), ldc, bias))
                {
                    Tiles(path, split, nVectorCols, k, alpha, a, rsA, csA, b, ldb, beta, c, ldc, bias);
                    Helper.Join();
                }
                else
                {
                    parallel = false;
                    Tiles(path, m, nVectorCols, k, alpha, a, rsA, csA, b, ldb, beta, c, ldc, bias);
                }

                if (eligible)
                {
                    Tuner.Record(parallel, System.Diagnostics.Stopwatch.GetTimestamp() - t0, macs);
                }
            }
        }

        if (n == 1 && k > 0 && path != GemmPath.Scalar)
        {
            SingleColumn(transA, m, k, alpha, a, lda, b, ldb, beta, c, ldc, bias);
        }
        else if (nVectorCols < n)
        {
            ScalarColumns(m, nVectorCols, n, k, alpha, a, rsA, csA, b, ldb, beta, c, ldc, bias);
        }
    }

    private static void Tiles(GemmPath path, int m, int n, int k, float alpha, float* a, nint rsA, nint csA, float* b, nint ldb, float beta, float* c, nint ldc, float* bias)
    {
        if (path == GemmPath.Vector512)
        {
            Tiles<Vector512<float>, Vector512Ops>(m, n, k, alpha, a, rsA, csA, b, ldb, beta, c, ldc, bias);
        }
        else
        {
            Tiles<Vector256<float>, Vector256Ops>(m, n, k, alpha, a, rsA, csA, b, ldb, beta, c, ldc, bias);
        }
    }

    /// <summary>The register-tiled product for one vector width; <typeparamref name="TOps"/> is a struct so the JIT specialises it per width.</summary>
    private static void Tiles<TVector, TOps>(int m, int n, int k, float alpha, float* a, nint rsA, nint csA, float* b, nint ldb, float beta, float* c, nint ldc, float* bias)
        where TVector : struct
        where TOps : struct, IVectorOps<TVector>
    {
        int W = TOps.Width;
        for (int j0 = 0; j0 < n; j0 += 4 * W)
        {
            int vectors = Math.Min(4, (n - j0) / W);
            for (int p0 = 0; p0 < k; p0 += DepthBlock)
            {
                int kc = Math.Min(DepthBlock, k - p0);
                float be = p0 == 0 ? beta : 1f;
                float* bi = p0 == 0 && bias != null ? bias + j0 : null;
                float* ab = a + (p0 * csA);
                float* bb = b + (p0 * ldb) + j0;
                int i = 0;
                for (; i + 4 <= m; i += 4)
                {
                    float* ai = ab + (i * rsA);
                    float* ci = c + (i * ldc) + j0;
                    if (vectors == 4)
                    {
                        GemmKernels<TVector, TOps>.Tile4x4(ai, rsA, csA, bb, ldb, kc, ci, ldc, alpha, be, bi);
                    }
                    else
                    {
                        for (int v = 0; v < vectors; v++)
                        {
                            GemmKernels<TVector, TOps>.Tile4x1(ai, rsA, csA, bb + (v * W), ldb, kc, ci + (v * W), ldc, alpha, be, bi == null ? null : bi + (v * W));
                        }
                    }
                }

                for (; i < m; i++)
                {
                    float* ai = ab + (i * rsA);
                    float* ci = c + (i * ldc) + j0;
                    if (vectors == 4)
                    {
                        GemmKernels<TVector, TOps>.Tile1x4(ai, csA, bb, ldb, kc, ci, alpha, be, bi);
                    }
                    else
                    {
                        for (int v = 0; v < vectors; v++)
                        {
                            GemmKernels<TVector, TOps>.Tile1x1(ai, csA, bb + (v * W), ldb, kc, ci + (v * W), alpha, be, bi == null ? null : bi + (v * W));
                        }
                    }
                }
            }
        }
    }


    /// <summary>
    /// A one-column result (e.g. the single sigmoid output unit): dot products along the contiguous rows of A, or,
    /// for Aᵀ, a sum of scaled rows of A, with TensorPrimitives.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SingleColumn(bool transA, int m, int k, float alpha, float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc, float* bias)
    {
        float b0 = bias == null ? 0f : bias[0];
        if (!transA && ldb == 1)
        {
            for (int i = 0; i < m; i++)
            {
                float r = (alpha * Simd.Dot(a + (i * lda), b, k)) + b0;
                c[i * ldc] = beta != 0f ? r + (beta * c[i * ldc]) : r;
            }

            return;
        }

        if (transA && ldc == 1)
        {
            // C[0..m) = alpha Σ_p B[p] A[p, 0..m) + beta C + bias.
            float[] column = t_column is { } existing && existing.Length >= m ? existing : (t_column = new float[Math.Max(m, 1024)]);
            fixed (float* acc = column)
            {
                new Span<float>(acc, m).Clear();
                for (int p = 0; p < k; p++)
                {
                    Simd.Axpy(b[p * ldb], a + (p * lda), acc, m);
                }

                for (int i = 0; i < m; i++)
                {
                    float r = (alpha * acc[i]) + b0;
                    c[i] = beta != 0f ? r + (beta * c[i]) : r;
                }
            }

            return;
        }

        ScalarColumns(m, 0, 1, k, alpha, a, transA ? 1 : lda, transA ? lda : 1, b, ldb, beta, c, ldc, bias);
    }

    /// <summary>Columns [j0, n) with scalar loops (the tail narrower than one vector, or everything on the scalar path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScalarColumns(int m, int j0, int n, int k, float alpha, float* a, nint rsA, nint csA, float* b, nint ldb, float beta, float* c, nint ldc, float* bias)
    {
        for (int i = 0; i < m; i++)
        {
            float* ai = a + (i * rsA);
            float* ci = c + (i * ldc);
            for (int j = j0; j < n; j++)
            {
                float s0 = 0f, s1 = 0f;
                float* bj = b + j;
                nint offA = 0;
                int p = 0;
                for (; p + 1 < k; p += 2)
                {
                    s0 += ai[offA] * bj[0];
                    s1 += ai[offA + csA] * bj[ldb];
                    offA += 2 * csA;
                    bj += 2 * ldb;
                }

                if (p < k)
                {
                    s0 += ai[offA] * bj[0];
                }

                float r = (alpha * (s0 + s1)) + (bias == null ? 0f : bias[j]);
                if (beta != 0f)
                {
                    r += beta * ci[j];
                }

                ci[j] = r;
            }
        }
    }

    /// <summary>
    /// Chooses between one and two threads from measured speed: on a quiet machine two threads win, but when other
    /// processes hold the cores the helper is often descheduled and waiting for it costs more than it saves. Keeps an
    /// average time per multiply-add for each mode, uses the faster, and re-measures the other every 32nd product.
    /// Either choice gives bitwise-identical results. Races between training threads only blur the averages.
    /// </summary>
    private static class Tuner
    {
        private const int ExploreEvery = 32;
        private static double s_serial = double.NaN, s_parallel = double.NaN;
        private static int s_count;

        public static bool ChooseParallel()
        {
            if (double.IsNaN(s_parallel))
            {
                return true;
            }

            if (double.IsNaN(s_serial))
            {
                return false;
            }

            bool faster = s_parallel < s_serial;
            return ++s_count % ExploreEvery == 0 ? !faster : faster;
        }

        public static void Record(bool parallel, long ticks, long macs)
        {
            double perMac = ticks / (double)macs;
            ref double average = ref parallel ? ref s_parallel : ref s_serial;
            average = double.IsNaN(average) ? perMac : (0.875 * average) + (0.125 * perMac);
        }
    }

    /// <summary>
    /// One persistent helper thread that takes the lower half of a large product. It spins briefly between jobs
    /// (the gaps in a training loop are microseconds) and then blocks. Only one caller at a time may use it;
    /// the others run single-threaded.
    /// </summary>
    private static class Helper
    {
        private static readonly ManualResetEventSlim Start = new(false, 2047);
        private static readonly ManualResetEventSlim Done = new(false, 2047);
        private static int s_busy;
        private static Thread? s_thread;
        private static Exception? s_error;

        private static GemmPath s_path;
        private static int s_m, s_n, s_k;
        private static float s_alpha, s_beta;
        private static float* s_a, s_b, s_c, s_bias;
        private static nint s_rsA, s_csA, s_ldb, s_ldc;

        public static bool TryRun(GemmPath path, int m, int n, int k, float alpha, float* a, nint rsA, nint csA, float* b, nint ldb, float beta, float* c, nint ldc, float* bias)
        {
            if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
            {
                return false;
            }

            if (s_thread is null)
            {
                s_thread = new Thread(Loop) { IsBackground = true, Name = "MLPipelines GEMM helper" };
                s_thread.Start();
            }

            s_path = path;
            s_m = m;
            s_n = n;
            s_k = k;
            s_alpha = alpha;
            s_beta = beta;
            s_a = a;
            s_b = b;
            s_c = c;
            s_bias = bias;
            s_rsA = rsA;
            s_csA = csA;
            s_ldb = ldb;
            s_ldc = ldc;
            Start.Set();
            return true;
        }

        public static void Join()
        {
            Done.Wait();
            Done.Reset();
            Exception? error = s_error;
            s_error = null;
            Volatile.Write(ref s_busy, 0);
            if (error is not null)
            {
                throw new InvalidOperationException("The GEMM helper thread failed.", error);
            }
        }

        private static void Loop()
        {
            while (true)
            {
                Start.Wait();
                Start.Reset();
                try
                {
                    Tiles(s_path, s_m, s_n, s_k, s_alpha, s_a, s_rsA, s_csA, s_b, s_ldb, s_beta, s_c, s_ldc, s_bias);
                }
                catch (Exception e)
                {
                    s_error = e;
                }

                Done.Set();
            }
        }
    }
}
