using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace MLPipelines.Mlp.Kernels;

/// <summary>Elementwise activations, their derivatives and the numerically stable losses.</summary>
internal static class NeuralOps
{
    /// <summary>Smallest probability fed to a logarithm when only probabilities are available.</summary>
    internal const double ProbabilityClip = 1e-7;

    public static void Activate(Activation activation, Span<float> z)
    {
        switch (activation)
        {
            case Activation.Sigmoid:
                SigmoidInPlace(z);
                break;
            case Activation.Tanh:
                TensorPrimitives.Tanh(z, z);
                break;
            default:
                TensorPrimitives.Max(z, 0f, z);
                break;
        }
    }

    /// <summary>σ(x) = 1 / (1 + e^−x) in place, with a vectorised polynomial exponential (saturates cleanly to 0 and 1).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidInPlace(Span<float> z)
    {
        ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(z);
        nuint n = (nuint)z.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var one = Vector512<float>.One;
            for (; i + 16 <= n; i += 16)
            {
                var x = Vector512.LoadUnsafe(ref r, i);
                (one / (one + Exp512(-x))).StoreUnsafe(ref r, i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<float>.One;
            for (; i + 8 <= n; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref r, i);
                (one / (one + Exp256(-x))).StoreUnsafe(ref r, i);
            }
        }

        for (; i < n; i++)
        {
            ref float v = ref System.Runtime.CompilerServices.Unsafe.Add(ref r, i);
            v = 1f / (1f + MathF.Exp(-v));
        }
    }

    // Cephes expf: e^x = 2^k · p(x − k ln 2), |x − k ln 2| ≤ ln2/2, degree-7 polynomial; about 1 ulp on [-87.3, 88.7]
    // (inputs are clamped to that range, so no infinities or NaNs arise from finite inputs).
    private const float ExpHi = 88.3762626647949f, ExpLo = -87.3365447505531f, Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f, P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;

    /// <summary>Vectorised e^x (Cephes expf).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Exp512(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpLo)), Vector512.Create(ExpHi));
        var k = Vector512.Round(x * Vector512.Create(Log2E));
        var f = x - (k * Vector512.Create(Ln2Hi)) - (k * Vector512.Create(Ln2Lo));
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), f, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, f * f, f + Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(k) + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>Vectorised e^x (Cephes expf), 256-bit.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp256(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpLo)), Vector256.Create(ExpHi));
        var k = Vector256.Round(x * Vector256.Create(Log2E));
        var f = x - (k * Vector256.Create(Ln2Hi)) - (k * Vector256.Create(Ln2Lo));
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), f, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, f * f, f + Vector256<float>.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(k) + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>delta ← delta ⊙ f′, where f′ is written in terms of the activation's output <paramref name="a"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyByDerivative(Activation activation, ReadOnlySpan<float> a, Span<float> delta)
    {
        int i = 0;
        int w = Vector<float>.Count;
        ref float ra = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
        ref float rd = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(delta);
        var one = Vector<float>.One;
        switch (activation)
        {
            case Activation.Sigmoid:
                for (; i + w <= delta.Length; i += w)
                {
                    var av = Vector.LoadUnsafe(ref ra, (nuint)i);
                    (Vector.LoadUnsafe(ref rd, (nuint)i) * av * (one - av)).StoreUnsafe(ref rd, (nuint)i);
                }

                for (; i < delta.Length; i++)
                {
                    delta[i] *= a[i] * (1f - a[i]);
                }

                break;
            case Activation.Tanh:
                for (; i + w <= delta.Length; i += w)
                {
                    var av = Vector.LoadUnsafe(ref ra, (nuint)i);
                    (Vector.LoadUnsafe(ref rd, (nuint)i) * (one - (av * av))).StoreUnsafe(ref rd, (nuint)i);
                }

                for (; i < delta.Length; i++)
                {
                    delta[i] *= 1f - (a[i] * a[i]);
                }

                break;
            default:
                for (; i + w <= delta.Length; i += w)
                {
                    var av = Vector.LoadUnsafe(ref ra, (nuint)i);
                    var mask = Vector.GreaterThan(av, Vector<float>.Zero);
                    Vector.ConditionalSelect(mask, Vector.LoadUnsafe(ref rd, (nuint)i), Vector<float>.Zero).StoreUnsafe(ref rd, (nuint)i);
                }

                for (; i < delta.Length; i++)
                {
                    if (!(a[i] > 0f))
                    {
                        delta[i] = 0f;
                    }
                }

                break;
        }
    }

    /// <summary>Binary cross-entropy of a logit, −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z y + log(1 + e^−|z|).</summary>
    public static double BinaryCrossEntropyFromLogit(double z, int label)
        => Math.Max(z, 0.0) - (z * label) + Log1P(Math.Exp(-Math.Abs(z)));

    /// <summary>log(1 + u) for u ≥ 0, accurate for tiny u (a short series below 1e-4).</summary>
    public static double Log1P(double u) => u < 1e-4 ? u * (1.0 - (u * ((0.5) - (u / 3.0)))) : Math.Log(1.0 + u);

    /// <summary>Binary cross-entropy from a probability, with the probability clipped to [1e-7, 1 − 1e-7].</summary>
    public static double BinaryCrossEntropyFromProbability(double p, int label)
    {
        p = Math.Clamp(p, ProbabilityClip, 1.0 - ProbabilityClip);
        return label == 1 ? -Math.Log(p) : -Math.Log(1.0 - p);
    }

    /// <summary>Numerically stable logistic function in double precision.</summary>
    public static double Sigmoid(double z) => z >= 0 ? 1.0 / (1.0 + Math.Exp(-z)) : Math.Exp(z) / (1.0 + Math.Exp(z));

    /// <summary>
    /// Sigmoid + binary cross-entropy for <paramref name="rows"/> logits: returns the summed loss, counts correct
    /// predictions, and when <paramref name="delta"/> is not empty writes (σ(z) − y) · <paramref name="scale"/>.
    /// </summary>
    public static double SigmoidBinary(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int rows, Span<float> delta, float scale, out int correct)
    {
        double loss = 0;
        int ok = 0;
        for (int r = 0; r < rows; r++)
        {
            double z = logits[r];
            int y = labels[r];
            loss += BinaryCrossEntropyFromLogit(z, y);
            if ((z > 0) == (y == 1))
            {
                ok++;
            }

            if (!delta.IsEmpty)
            {
                delta[r] = (float)((Sigmoid(z) - y) * scale);
            }
        }

        correct = ok;
        return loss;
    }

    /// <summary>
    /// Softmax + cross-entropy for <paramref name="rows"/> rows of <paramref name="classes"/> logits (max-subtracted
    /// log-sum-exp). Returns the summed loss; when <paramref name="delta"/> is not empty writes (softmax − target) · scale.
    /// With label smoothing e the target is (1 − e) onehot + e / K and the loss −Σ target · log softmax (torch's
    /// cross_entropy label_smoothing); e = 0 is plain cross-entropy.
    /// </summary>
    public static double SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int rows, int classes, Span<float> delta, float scale, out int correct, double smoothing = 0)
    {
        double loss = 0;
        int ok = 0;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> z = logits.Slice(r * classes, classes);
            int y = labels[r];
            int argMax = TensorPrimitives.IndexOfMax(z);
            if (argMax == y)
            {
                ok++;
            }

            double max = z[argMax];
            double sum = 0;
            for (int j = 0; j < classes; j++)
            {
                sum += Math.Exp(z[j] - max);
            }

            double logSum = Math.Log(sum);
            loss += logSum - (z[y] - max);
            if (smoothing > 0)
            {
                // Target q = (1 - e) one-hot + e / K: loss = (1 - e)(-log p_y) + (e / K) Σ_j (-log p_j).
                double all = 0;
                for (int j = 0; j < classes; j++)
                {
                    all += logSum - (z[j] - max);
                }

                loss += smoothing * (all / classes - (logSum - (z[y] - max)));
            }

            if (!delta.IsEmpty)
            {
                Span<float> d = delta.Slice(r * classes, classes);
                double inv = 1.0 / sum;
                double off = smoothing / classes;
                for (int j = 0; j < classes; j++)
                {
                    double p = Math.Exp(z[j] - max) * inv;
                    d[j] = (float)((p - (j == y ? 1.0 - smoothing + off : off)) * scale);
                }
            }
        }

        correct = ok;
        return loss;
    }

    /// <summary>In-place softmax of each row (max-subtracted).</summary>
    public static void SoftmaxRows(Span<float> values, int rows, int classes)
    {
        for (int r = 0; r < rows; r++)
        {
            Span<float> z = values.Slice(r * classes, classes);
            float max = TensorPrimitives.Max(z);
            TensorPrimitives.Subtract(z, max, z);
            TensorPrimitives.Exp(z, z);
            float sum = TensorPrimitives.Sum(z);
            TensorPrimitives.Divide(z, sum, z);
        }
    }

    /// <summary>Column sums of a rows × cols row-major matrix into <paramref name="sums"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ColumnSums(ReadOnlySpan<float> matrix, int rows, int cols, Span<float> sums)
    {
        if (rows <= 0)
        {
            sums[..cols].Clear();
            return;
        }

        if (matrix.Length < rows * cols || sums.Length < cols)
        {
            throw new ArgumentException("The buffers are too small.", nameof(matrix));
        }

        fixed (float* m = matrix)
        fixed (float* s = sums)
        {
            if (cols == 1)
            {
                float total = 0f;
                for (int r = 0; r < rows; r++)
                {
                    total += m[r];
                }

                s[0] = total;
                return;
            }

            new ReadOnlySpan<float>(m, cols).CopyTo(new Span<float>(s, cols));
            for (int r = 1; r < rows; r++)
            {
                Simd.Add(m + (r * cols), s, cols);
            }
        }
    }
}
