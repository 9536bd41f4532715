namespace MLPipelines.Benchmarks;

/// <summary>
/// The baseline: a d-h-1 sigmoid MLP trained with mini-batch SGD using straightforward scalar loops
/// (same maths as the engine: BCE from logits, mean gradient over the batch, shuffling every epoch).
/// </summary>
internal sealed class NaiveMlp
{
    private readonly int _d, _h;
    private readonly float[] _w1, _b1, _w2;
    private float _b2;

    public NaiveMlp(int d, int h, int seed)
    {
        _d = d;
        _h = h;
        _w1 = new float[d * h];
        _b1 = new float[h];
        _w2 = new float[h];
        var rng = new Random(seed);
        double l1 = Math.Sqrt(6.0 / (d + h)), l2 = Math.Sqrt(6.0 / (h + 1));
        for (int i = 0; i < _w1.Length; i++)
        {
            _w1[i] = (float)(((2 * rng.NextDouble()) - 1) * l1);
        }

        for (int i = 0; i < _w2.Length; i++)
        {
            _w2[i] = (float)(((2 * rng.NextDouble()) - 1) * l2);
        }
    }

    /// <summary>One epoch; returns the mean loss.</summary>
    public double TrainEpoch(float[] x, int[] y, int n, int batch, float lr, int[] order, Random rng)
    {
        int d = _d, h = _h;
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var a1 = new float[batch * h];
        var z2 = new float[batch];
        var d1 = new float[batch * h];
        var gw1 = new float[d * h];
        var gb1 = new float[h];
        var gw2 = new float[h];
        double loss = 0;
        for (int start = 0; start < n; start += batch)
        {
            int rows = Math.Min(batch, n - start);
            for (int r = 0; r < rows; r++)
            {
                int src = order[start + r] * d;
                for (int j = 0; j < h; j++)
                {
                    float s = _b1[j];
                    for (int k = 0; k < d; k++)
                    {
                        s += x[src + k] * _w1[(k * h) + j];
                    }

                    a1[(r * h) + j] = 1f / (1f + MathF.Exp(-s));
                }

                float z = _b2;
                for (int j = 0; j < h; j++)
                {
                    z += a1[(r * h) + j] * _w2[j];
                }

                z2[r] = z;
            }

            Array.Clear(gw1);
            Array.Clear(gb1);
            Array.Clear(gw2);
            float gb2 = 0;
            for (int r = 0; r < rows; r++)
            {
                int label = y[order[start + r]];
                float z = z2[r];
                loss += Math.Max(z, 0) - (z * label) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
                float dz = ((1f / (1f + MathF.Exp(-z))) - label) / rows;
                gb2 += dz;
                for (int j = 0; j < h; j++)
                {
                    float a = a1[(r * h) + j];
                    gw2[j] += a * dz;
                    d1[(r * h) + j] = dz * _w2[j] * a * (1 - a);
                }
            }

            for (int r = 0; r < rows; r++)
            {
                int src = order[start + r] * d;
                for (int k = 0; k < d; k++)
                {
                    float xv = x[src + k];
                    for (int j = 0; j < h; j++)
                    {
                        gw1[(k * h) + j] += xv * d1[(r * h) + j];
                    }
                }

                for (int j = 0; j < h; j++)
                {
                    gb1[j] += d1[(r * h) + j];
                }
            }

            for (int i = 0; i < gw1.Length; i++)
            {
                _w1[i] -= lr * gw1[i];
            }

            for (int j = 0; j < h; j++)
            {
                _b1[j] -= lr * gb1[j];
                _w2[j] -= lr * gw2[j];
            }

            _b2 -= lr * gb2;
        }

        return loss / n;
    }
}
