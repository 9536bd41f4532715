// Register-tiled micro-kernels for the single-precision matrix product, written once for every vector width:
// TOps supplies the vector operations (VectorOps.cs), and the JIT compiles one specialised copy per width.
using System.Runtime.CompilerServices;

namespace MLPipelines.Mlp.Kernels;

/// <summary>
/// Micro-kernels computing one tile of <c>C = alpha * A·B + beta * C + bias</c>, where
/// <c>A(i, p) = a[i * rsA + p * csA]</c> (so the same kernel serves A and Aᵀ) and
/// <c>B(p, j) = b[p * ldb + j]</c> is row-major. A tile is up to 4 rows by up to 4 vectors of columns.
/// When <c>beta == 0</c> the old value of C is not read. <c>bias</c> may be null.
/// </summary>
/// <typeparam name="TVector">The vector type (<c>Vector512&lt;float&gt;</c>, <c>Vector256&lt;float&gt;</c>).</typeparam>
/// <typeparam name="TOps">Its operations; a struct, so every call below is resolved and inlined per width.</typeparam>
internal static unsafe class GemmKernels<TVector, TOps>
    where TVector : struct
    where TOps : struct, IVectorOps<TVector>
{
    /// <summary>Floats per vector.</summary>
    public static int Width => TOps.Width;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* dst, TVector acc, TVector alpha, float beta, TVector bias)
    {
        TVector r = TOps.FusedMultiplyAdd(acc, alpha, bias);
        if (beta != 0f)
        {
            r = TOps.FusedMultiplyAdd(TOps.Load(dst), TOps.Broadcast(beta), r);
        }

        TOps.Store(r, dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector BiasAt(float* bias, int offset) => bias == null ? TOps.Zero : TOps.Load(bias + offset);

    /// <summary>4 rows by 4 vectors (64 columns with AVX-512, 32 with AVX2): 16 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4x4(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
    {
        int w = TOps.Width;
        TVector c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
        TVector c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
        TVector c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
        TVector c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
        float* a0 = a;
        float* a1 = a + rsA;
        float* a2 = a + (2 * rsA);
        float* a3 = a + (3 * rsA);
        nint off = 0;
        for (int p = 0; p < k; p++)
        {
            TVector b0 = TOps.Load(b);
            TVector b1 = TOps.Load(b + w);
            TVector b2 = TOps.Load(b + (2 * w));
            TVector b3 = TOps.Load(b + (3 * w));
            TVector x = TOps.Broadcast(a0[off]);
            c00 = TOps.FusedMultiplyAdd(x, b0, c00);
            c01 = TOps.FusedMultiplyAdd(x, b1, c01);
            c02 = TOps.FusedMultiplyAdd(x, b2, c02);
            c03 = TOps.FusedMultiplyAdd(x, b3, c03);
            x = TOps.Broadcast(a1[off]);
            c10 = TOps.FusedMultiplyAdd(x, b0, c10);
            c11 = TOps.FusedMultiplyAdd(x, b1, c11);
            c12 = TOps.FusedMultiplyAdd(x, b2, c12);
            c13 = TOps.FusedMultiplyAdd(x, b3, c13);
            x = TOps.Broadcast(a2[off]);
            c20 = TOps.FusedMultiplyAdd(x, b0, c20);
            c21 = TOps.FusedMultiplyAdd(x, b1, c21);
            c22 = TOps.FusedMultiplyAdd(x, b2, c22);
            c23 = TOps.FusedMultiplyAdd(x, b3, c23);
            x = TOps.Broadcast(a3[off]);
            c30 = TOps.FusedMultiplyAdd(x, b0, c30);
            c31 = TOps.FusedMultiplyAdd(x, b1, c31);
            c32 = TOps.FusedMultiplyAdd(x, b2, c32);
            c33 = TOps.FusedMultiplyAdd(x, b3, c33);
            off += csA;
            b += ldb;
        }

        TVector al = TOps.Broadcast(alpha);
        TVector bi0 = BiasAt(bias, 0), bi1 = BiasAt(bias, w), bi2 = BiasAt(bias, 2 * w), bi3 = BiasAt(bias, 3 * w);
        float* r = c;
        Put(r, c00, al, beta, bi0); Put(r + w, c01, al, beta, bi1); Put(r + (2 * w), c02, al, beta, bi2); Put(r + (3 * w), c03, al, beta, bi3);
        r += ldc;
        Put(r, c10, al, beta, bi0); Put(r + w, c11, al, beta, bi1); Put(r + (2 * w), c12, al, beta, bi2); Put(r + (3 * w), c13, al, beta, bi3);
        r += ldc;
        Put(r, c20, al, beta, bi0); Put(r + w, c21, al, beta, bi1); Put(r + (2 * w), c22, al, beta, bi2); Put(r + (3 * w), c23, al, beta, bi3);
        r += ldc;
        Put(r, c30, al, beta, bi0); Put(r + w, c31, al, beta, bi1); Put(r + (2 * w), c32, al, beta, bi2); Put(r + (3 * w), c33, al, beta, bi3);
    }

    /// <summary>4 rows by 1 vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4x1(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
    {
        TVector c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
        float* a0 = a;
        float* a1 = a + rsA;
        float* a2 = a + (2 * rsA);
        float* a3 = a + (3 * rsA);
        nint off = 0;
        for (int p = 0; p < k; p++)
        {
            TVector b0 = TOps.Load(b);
            c0 = TOps.FusedMultiplyAdd(TOps.Broadcast(a0[off]), b0, c0);
            c1 = TOps.FusedMultiplyAdd(TOps.Broadcast(a1[off]), b0, c1);
            c2 = TOps.FusedMultiplyAdd(TOps.Broadcast(a2[off]), b0, c2);
            c3 = TOps.FusedMultiplyAdd(TOps.Broadcast(a3[off]), b0, c3);
            off += csA;
            b += ldb;
        }

        TVector al = TOps.Broadcast(alpha);
        TVector bi = BiasAt(bias, 0);
        Put(c, c0, al, beta, bi);
        Put(c + ldc, c1, al, beta, bi);
        Put(c + (2 * ldc), c2, al, beta, bi);
        Put(c + (3 * ldc), c3, al, beta, bi);
    }

    /// <summary>1 row by 4 vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile1x4(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
    {
        int w = TOps.Width;
        TVector c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
        nint off = 0;
        for (int p = 0; p < k; p++)
        {
            TVector x = TOps.Broadcast(a[off]);
            c0 = TOps.FusedMultiplyAdd(x, TOps.Load(b), c0);
            c1 = TOps.FusedMultiplyAdd(x, TOps.Load(b + w), c1);
            c2 = TOps.FusedMultiplyAdd(x, TOps.Load(b + (2 * w)), c2);
            c3 = TOps.FusedMultiplyAdd(x, TOps.Load(b + (3 * w)), c3);
            off += csA;
            b += ldb;
        }

        TVector al = TOps.Broadcast(alpha);
        Put(c, c0, al, beta, BiasAt(bias, 0));
        Put(c + w, c1, al, beta, BiasAt(bias, w));
        Put(c + (2 * w), c2, al, beta, BiasAt(bias, 2 * w));
        Put(c + (3 * w), c3, al, beta, BiasAt(bias, 3 * w));
    }

    /// <summary>1 row by 1 vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile1x1(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
    {
        TVector c0 = TOps.Zero, c1 = TOps.Zero;
        nint off = 0;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            c0 = TOps.FusedMultiplyAdd(TOps.Broadcast(a[off]), TOps.Load(b), c0);
            c1 = TOps.FusedMultiplyAdd(TOps.Broadcast(a[off + csA]), TOps.Load(b + ldb), c1);
            off += 2 * csA;
            b += 2 * ldb;
        }

        if (p < k)
        {
            c0 = TOps.FusedMultiplyAdd(TOps.Broadcast(a[off]), TOps.Load(b), c0);
        }

        Put(c, TOps.Add(c0, c1), TOps.Broadcast(alpha), beta, BiasAt(bias, 0));
    }
}
