using MLPipelines.Mlp;

namespace MLPipelines.Tests.Mlp;

/// <summary>Back-propagation against double-precision central differences of an independent scalar forward pass.</summary>
public sealed class GradientTests
{
    public static TheoryData<Activation, OutputKind> Cases()
    {
        var data = new TheoryData<Activation, OutputKind>();
        foreach (Activation a in Enum.GetValues<Activation>())
        {
            foreach (OutputKind o in Enum.GetValues<OutputKind>())
            {
                data.Add(a, o);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AnalyticGradientsMatchFiniteDifferences(Activation activation, OutputKind output)
    {
        const double L2 = 0.03;
        var arch = new MlpArchitecture { InputSize = 5, HiddenSizes = [6, 4], HiddenActivation = activation, Output = output, ClassCount = 3 };
        var rng = new Random(7 + (int)activation);
        int[] sizes = [5, 6, 4, arch.OutputSize];
        var layers = new DenseLayer[3];
        for (int l = 0; l < 3; l++)
        {
            layers[l] = new DenseLayer(sizes[l], sizes[l + 1]);
            for (int i = 0; i < layers[l].Weights.Length; i++)
            {
                layers[l].Weights[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            for (int i = 0; i < layers[l].Bias.Length; i++)
            {
                layers[l].Bias[i] = (float)((rng.NextDouble() * 0.4) - 0.2);
            }
        }

        MlpNetwork net = MlpNetwork.FromLayers(arch, layers);
        const int Rows = 7;
        float[] x = new float[Rows * 5];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)((rng.NextDouble() * 4) - 2);
        }

        int[] y = new int[Rows];
        for (int r = 0; r < Rows; r++)
        {
            y[r] = r % (output == OutputKind.SigmoidBinary ? 2 : 3);
        }

        float[][] gw = [.. layers.Select(l => new float[l.Weights.Length])];
        float[][] gb = [.. layers.Select(l => new float[l.Bias.Length])];
        double loss = MlpEngine.ComputeLossAndGradients(net, x, y, Rows, L2, gw, gb);

        double[][] w = [.. layers.Select(l => l.Weights.Select(v => (double)v).ToArray())];
        double[][] b = [.. layers.Select(l => l.Bias.Select(v => (double)v).ToArray())];
        double reference = ReferenceLoss(w, b, sizes, activation, output, x, y, Rows, L2);
        Assert.True(Math.Abs(loss - reference) <= 1e-5 * Math.Max(1, reference), $"loss {loss} vs reference {reference}");

        const double H = 1e-5;
        int checkedCount = 0;
        for (int l = 0; l < 3; l++)
        {
            foreach ((double[] p, float[] g) in new[] { (w[l], gw[l]), (b[l], gb[l]) })
            {
                for (int i = 0; i < p.Length; i++)
                {
                    double keep = p[i];
                    p[i] = keep + H;
                    double up = ReferenceLoss(w, b, sizes, activation, output, x, y, Rows, L2);
                    p[i] = keep - H;
                    double down = ReferenceLoss(w, b, sizes, activation, output, x, y, Rows, L2);
                    p[i] = keep;
                    double numeric = (up - down) / (2 * H);
                    Assert.True(
                        Math.Abs(g[i] - numeric) <= 2e-4 + (1e-3 * Math.Abs(numeric)),
                        $"layer {l} param {i} ({(p == w[l] ? "weight" : "bias")}): analytic {g[i]} vs numeric {numeric}");
                    checkedCount++;
                }
            }
        }

        Assert.Equal((5 * 6) + 6 + (6 * 4) + 4 + (4 * arch.OutputSize) + arch.OutputSize, checkedCount);
    }

    /// <summary>Mean cross-entropy + L2/2 Σ w², in double precision with straightforward loops.</summary>
    internal static double ReferenceLoss(double[][] w, double[][] b, int[] sizes, Activation act, OutputKind output, float[] x, int[] y, int rows, double l2)
    {
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            double[] a = new double[sizes[0]];
            for (int i = 0; i < a.Length; i++)
            {
                a[i] = x[(r * sizes[0]) + i];
            }

            for (int l = 0; l < w.Length; l++)
            {
                double[] z = new double[sizes[l + 1]];
                for (int j = 0; j < z.Length; j++)
                {
                    double s = b[l][j];
                    for (int i = 0; i < a.Length; i++)
                    {
                        s += a[i] * w[l][(i * z.Length) + j];
                    }

                    z[j] = l == w.Length - 1 ? s : act switch
                    {
                        Activation.Sigmoid => 1 / (1 + Math.Exp(-s)),
                        Activation.Tanh => Math.Tanh(s),
                        _ => Math.Max(0, s),
                    };
                }

                a = z;
            }

            if (output == OutputKind.SigmoidBinary)
            {
                double p = 1 / (1 + Math.Exp(-a[0]));
                total += -((y[r] * Math.Log(p)) + ((1 - y[r]) * Math.Log(1 - p)));
            }
            else
            {
                double sum = a.Sum(Math.Exp);
                total += -Math.Log(Math.Exp(a[y[r]]) / sum);
            }
        }

        double penalty = w.Sum(layer => layer.Sum(v => v * v));
        return (total / rows) + (0.5 * l2 * penalty);
    }
}
