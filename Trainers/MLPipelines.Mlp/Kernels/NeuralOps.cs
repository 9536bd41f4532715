using System.Numerics;
using System.Numerics.Tensors;

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
                TensorPrimitives.Sigmoid(z, z);
                break;
            case Activation.Tanh:
                TensorPrimitives.Tanh(z, z);
                break;
            default:
                TensorPrimitives.Max(z, 0f, z);
                break;
        }
    }

    /// <summary>delta ← delta ⊙ f′, where f′ is written in terms of the activation's output <paramref name="a"/>.</summary>
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
    /// log-sum-exp). Returns the summed loss; when <paramref name="delta"/> is not empty writes (softmax − onehot) · scale.
    /// </summary>
    public static double SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int rows, int classes, Span<float> delta, float scale, out int correct)
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
            if (!delta.IsEmpty)
            {
                Span<float> d = delta.Slice(r * classes, classes);
                double inv = 1.0 / sum;
                for (int j = 0; j < classes; j++)
                {
                    double p = Math.Exp(z[j] - max) * inv;
                    d[j] = (float)((p - (j == y ? 1.0 : 0.0)) * scale);
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
    public static void ColumnSums(ReadOnlySpan<float> matrix, int rows, int cols, Span<float> sums)
    {
        if (cols == 1)
        {
            sums[0] = TensorPrimitives.Sum(matrix[..rows]);
            return;
        }

        Span<float> s = sums[..cols];
        matrix[..cols].CopyTo(s);
        for (int r = 1; r < rows; r++)
        {
            TensorPrimitives.Add(s, matrix.Slice(r * cols, cols), s);
        }
    }
}
