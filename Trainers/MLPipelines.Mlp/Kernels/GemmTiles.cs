using System.Runtime.CompilerServices;

namespace MLPipelines.Mlp.Kernels;

/// <summary>The micro-kernels of one vector width, so that one tiling driver serves every width.</summary>
internal unsafe interface IGemmTiles
{
    /// <summary>Floats per vector.</summary>
    static abstract int Width { get; }

    /// <summary>4 rows x 4 vectors.</summary>
    static abstract void Tile4x4(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias);

    /// <summary>4 rows x 1 vector.</summary>
    static abstract void Tile4x1(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias);

    /// <summary>1 row x 4 vectors.</summary>
    static abstract void Tile1x4(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias);

    /// <summary>1 row x 1 vector.</summary>
    static abstract void Tile1x1(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias);
}

/// <summary>The 512-bit micro-kernels.</summary>
internal readonly unsafe struct Kernels512 : IGemmTiles
{
    public static int Width => GemmKernels512.Width;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile4x4(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
        => GemmKernels512.Tile4x4(a, rsA, csA, b, ldb, k, c, ldc, alpha, beta, bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile4x1(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
        => GemmKernels512.Tile4x1(a, rsA, csA, b, ldb, k, c, ldc, alpha, beta, bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile1x4(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
        => GemmKernels512.Tile1x4(a, csA, b, ldb, k, c, alpha, beta, bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile1x1(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
        => GemmKernels512.Tile1x1(a, csA, b, ldb, k, c, alpha, beta, bias);
}

/// <summary>The 256-bit micro-kernels.</summary>
internal readonly unsafe struct Kernels256 : IGemmTiles
{
    public static int Width => GemmKernels256.Width;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile4x4(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
        => GemmKernels256.Tile4x4(a, rsA, csA, b, ldb, k, c, ldc, alpha, beta, bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile4x1(float* a, nint rsA, nint csA, float* b, nint ldb, int k, float* c, nint ldc, float alpha, float beta, float* bias)
        => GemmKernels256.Tile4x1(a, rsA, csA, b, ldb, k, c, ldc, alpha, beta, bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile1x4(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
        => GemmKernels256.Tile1x4(a, csA, b, ldb, k, c, alpha, beta, bias);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile1x1(float* a, nint csA, float* b, nint ldb, int k, float* c, float alpha, float beta, float* bias)
        => GemmKernels256.Tile1x1(a, csA, b, ldb, k, c, alpha, beta, bias);
}
