// Register-tiled micro-kernels for the single-precision matrix product (512-bit vectors).
// GemmKernels256.cs is the same source with 256-bit vectors; keep the two in step.
using System.Runtime.CompilerServices;
using V = System.Runtime.Intrinsics.Vector512<float>;
using VS = System.Runtime.Intrinsics.Vector512;

namespace MLPipelines.Mlp.Kernels;

/// <summary>
/// Micro-kernels computing one tile of <c>C = alpha * A·B + beta * C + bias</c>, where
/// <c>A(i, p) = a[i * rsA + p * csA]</c> (so the same kernel serves A and Aᵀ) and
/// <c>B(p, j) = b[p * ldb + j]</c> is row-major. A tile is up to 4 rows by up to 4 vectors of columns.
/// When <c>beta == 0</c> the old value of C is not read. <c>bias</c> may be null.
/// </summary>
internal static unsafe class GemmKernels512
{
    public const int Width = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* dst, V acc, V alpha, float beta, V bias)
    {
        V r = VS.FusedMultiplyAdd(acc, alpha, bias);
        if (beta != 0f)
        {
            r = VS.FusedMultiplyAdd(VS.Load(dst), VS.Create(beta), r);
        }

        VS.Store(r, dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V BiasAt(float* bias, int offset) => bias == null ? V.Zero : VS.Load(bias + offset);

    /// <summary>4 rows by 4 vectors (64 columns with AVX-512): 16 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4x4(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
    {
        V c00 = V.Zero, c01 = V.Zero, c02 = V.Zero, c03 = V.Zero;
        V c10 = V.Zero, c11 = V.Zero, c12 = V.Zero, c13 = V.Zero;
        V c20 = V.Zero, c21 = V.Zero, c22 = V.Zero, c23 = V.Zero;
        V c30 = V.Zero, c31 = V.Zero, c32 = V.Zero, c33 = V.Zero;
        float* a0 = a;
        float* a1 = a + rsA;
        float* a2 = a + (2 * rsA);
        float* a3 = a + (3 * rsA);
        nint off = 0;
        for (int p = 0; p < k; p++)
        {
            V b0 = VS.Load(b);
            V b1 = VS.Load(b + Width);
            V b2 = VS.Load(b + (2 * Width));
            V b3 = VS.Load(b + (3 * Width));
            V x = VS.Create(a0[off]);
            c00 = VS.FusedMultiplyAdd(x, b0, c00);
            c01 = VS.FusedMultiplyAdd(x, b1, c01);
            c02 = VS.FusedMultiplyAdd(x, b2, c02);
            c03 = VS.FusedMultiplyAdd(x, b3, c03);
            x = VS.Create(a1[off]);
            c10 = VS.FusedMultiplyAdd(x, b0, c10);
            c11 = VS.FusedMultiplyAdd(x, b1, c11);
            c12 = VS.FusedMultiplyAdd(x, b2, c12);
            c13 = VS.FusedMultiplyAdd(x, b3, c13);
            x = VS.Create(a2[off]);
            c20 = VS.FusedMultiplyAdd(x, b0, c20);
            c21 = VS.FusedMultiplyAdd(x, b1, c21);
            c22 = VS.FusedMultiplyAdd(x, b2, c22);
            c23 = VS.FusedMultiplyAdd(x, b3, c23);
            x = VS.Create(a3[off]);
            c30 = VS.FusedMultiplyAdd(x, b0, c30);
            c31 = VS.FusedMultiplyAdd(x, b1, c31);
            c32 = VS.FusedMultiplyAdd(x, b2, c32);
            c33 = VS.FusedMultiplyAdd(x, b3, c33);
            off += csA;
            b += ldb;
        }

        V al = VS.Create(alpha);
        V bi0 = BiasAt(bias, 0), bi1 = BiasAt(bias, Width), bi2 = BiasAt(bias, 2 * Width), bi3 = BiasAt(bias, 3 * Width);
        float* r = c;
        Put(r, c00, al, beta, bi0); Put(r + Width, c01, al, beta, bi1); Put(r + (2 * Width), c02, al, beta, bi2); Put(r + (3 * Width), c03, al, beta, bi3);
        r += ldc;
        Put(r, c10, al, beta, bi0); Put(r + Width, c11, al, beta, bi1); Put(r + (2 * Width), c12, al, beta, bi2); Put(r + (3 * Width), c13, al, beta, bi3);
        r += ldc;
        Put(r, c20, al, beta, bi0); Put(r + Width, c21, al, beta, bi1); Put(r + (2 * Width), c22, al, beta, bi2); Put(r + (3 * Width), c23, al, beta, bi3);
        r += ldc;
        Put(r, c30, al, beta, bi0); Put(r + Width, c31, al, beta, bi1); Put(r + (2 * Width), c32, al, beta, bi2); Put(r + (3 * Width), c33, al, beta, bi3);
    }

    /// <summary>4 rows by 1 vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4x1(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
    {
        V c0 = V.Zero, c1 = V.Zero, c2 = V.Zero, c3 = V.Zero;
        float* a0 = a;
        float* a1 = a + rsA;
        float* a2 = a + (2 * rsA);
        float* a3 = a + (3 * rsA);
        nint off = 0;
        for (int p = 0; p < k; p++)
        {
            V b0 = VS.Load(b);
            c0 = VS.FusedMultiplyAdd(VS.Create(a0[off]), b0, c0);
            c1 = VS.FusedMultiplyAdd(VS.Create(a1[off]), b0, c1);
            c2 = VS.FusedMultiplyAdd(VS.Create(a2[off]), b0, c2);
            c3 = VS.FusedMultiplyAdd(VS.Create(a3[off]), b0, c3);
            off += csA;
            b += ldb;
        }

        V al = VS.Create(alpha);
        V bi = BiasAt(bias, 0);
        Put(c, c0, al, beta, bi);
        Put(c + ldc, c1, al, beta, bi);
        Put(c + (2 * ldc), c2, al, beta, bi);
        Put(c + (3 * ldc), c3, al, beta, bi);
    }

    /// <summary>1 row by 4 vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile1x4(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
    {
        V c0 = V.Zero, c1 = V.Zero, c2 = V.Zero, c3 = V.Zero;
        nint off = 0;
        for (int p = 0; p < k; p++)
        {
            V x = VS.Create(a[off]);
            c0 = VS.FusedMultiplyAdd(x, VS.Load(b), c0);
            c1 = VS.FusedMultiplyAdd(x, VS.Load(b + Width), c1);
            c2 = VS.FusedMultiplyAdd(x, VS.Load(b + (2 * Width)), c2);
            c3 = VS.FusedMultiplyAdd(x, VS.Load(b + (3 * Width)), c3);
            off += csA;
            b += ldb;
        }

        V al = VS.Create(alpha);
        Put(c, c0, al, beta, BiasAt(bias, 0));
        Put(c + Width, c1, al, beta, BiasAt(bias, Width));
        Put(c + (2 * Width), c2, al, beta, BiasAt(bias, 2 * Width));
        Put(c + (3 * Width), c3, al, beta, BiasAt(bias, 3 * Width));
    }

    /// <summary>1 row by 1 vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile1x1(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
    {
        V c0 = V.Zero, c1 = V.Zero;
        nint off = 0;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            c0 = VS.FusedMultiplyAdd(VS.Create(a[off]), VS.Load(b), c0);
            c1 = VS.FusedMultiplyAdd(VS.Create(a[off + csA]), VS.Load(b + ldb), c1);
            off += 2 * csA;
            b += 2 * ldb;
        }

        if (p < k)
        {
            c0 = VS.FusedMultiplyAdd(VS.Create(a[off]), VS.Load(b), c0);
        }

        Put(c, c0 + c1, VS.Create(alpha), beta, BiasAt(bias, 0));
    }
}
