using MLPipelines.Mlp.Kernels;

namespace MLPipelines.Tests.Mlp;

public sealed class LossTests
{
    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.0, 1)]
    [InlineData(2.5, 1)]
    [InlineData(2.5, 0)]
    [InlineData(-3.7, 1)]
    [InlineData(-3.7, 0)]
    [InlineData(12.0, 0)]
    public void BinaryCrossEntropyMatchesDirectFormula(double z, int y)
    {
        double p = 1 / (1 + Math.Exp(-z));
        double direct = -((y * Math.Log(p)) + ((1 - y) * Math.Log(1 - p)));
        Assert.True(Math.Abs(direct - NeuralOps.BinaryCrossEntropyFromLogit(z, y)) <= 1e-10 * Math.Max(1, direct));
        Assert.Equal(direct, NeuralOps.BinaryCrossEntropyFromProbability(p, y), 9);
    }

    [Fact]
    public void BinaryCrossEntropyIsFiniteAtExtremeLogits()
    {
        Assert.Equal(100.0, NeuralOps.BinaryCrossEntropyFromLogit(100, 0), 10);
        Assert.Equal(100.0, NeuralOps.BinaryCrossEntropyFromLogit(-100, 1), 10);
        Assert.Equal(1.0, NeuralOps.BinaryCrossEntropyFromLogit(100, 1) / Math.Exp(-100), 9);
        Assert.True(NeuralOps.BinaryCrossEntropyFromLogit(-100, 0) < 1e-40);

        float[] logits = [100f, -100f, 100f, -100f];
        int[] labels = [1, 1, 0, 0];
        float[] delta = new float[4];
        double sum = NeuralOps.SigmoidBinary(logits, labels, 4, delta, 0.25f, out int correct);
        Assert.Equal(200.0, sum, 6);
        Assert.Equal(2, correct);
        Assert.All(delta, d => Assert.True(float.IsFinite(d)));
        Assert.Equal(0f, delta[0], 6);
        Assert.Equal(-0.25f, delta[1], 6);
        Assert.Equal(0.25f, delta[2], 6);
    }

    [Fact]
    public void ClippedProbabilityLossStaysFinite()
    {
        Assert.Equal(-Math.Log(1e-7), NeuralOps.BinaryCrossEntropyFromProbability(0.0, 1), 9);
        Assert.Equal(-Math.Log(1e-7), NeuralOps.BinaryCrossEntropyFromProbability(1.0, 0), 6);
    }

    [Fact]
    public void SoftmaxCrossEntropyMatchesDirectFormulaAndGradient()
    {
        float[] logits = [0.5f, -1.25f, 2f, 0.1f, 0.2f, 0.3f];
        int[] labels = [2, 0];
        float[] delta = new float[6];
        double sum = NeuralOps.SoftmaxCrossEntropy(logits, labels, 2, 3, delta, 0.5f, out int correct);
        double expected = 0;
        for (int r = 0; r < 2; r++)
        {
            double s = 0;
            for (int j = 0; j < 3; j++)
            {
                s += Math.Exp(logits[(r * 3) + j]);
            }

            expected += -Math.Log(Math.Exp(logits[(r * 3) + labels[r]]) / s);
            for (int j = 0; j < 3; j++)
            {
                double p = Math.Exp(logits[(r * 3) + j]) / s;
                Assert.Equal((p - (j == labels[r] ? 1 : 0)) * 0.5, delta[(r * 3) + j], 6);
            }
        }

        Assert.Equal(expected, sum, 6);
        Assert.Equal(1, correct);
    }

    [Fact]
    public void SoftmaxCrossEntropyIsFiniteAtExtremeLogits()
    {
        float[] logits = [100f, -100f, 0f];
        float[] delta = new float[3];
        double loss = NeuralOps.SoftmaxCrossEntropy(logits, [1], 1, 3, delta, 1f, out _);
        Assert.Equal(200.0, loss, 6);
        Assert.Equal(0.0, NeuralOps.SoftmaxCrossEntropy(logits, [0], 1, 3, delta, 1f, out _), 6);
        Assert.All(delta, d => Assert.True(float.IsFinite(d)));

        float[] probs = [1000f, 0f, -1000f];
        NeuralOps.SoftmaxRows(probs, 1, 3);
        Assert.Equal(1f, probs[0]);
        Assert.Equal(0f, probs[2]);
    }

    [Fact]
    public void VectorisedSigmoidMatchesDoublePrecision()
    {
        var xs = new List<float>();
        for (double x = -90; x <= 90; x += 0.0137)
        {
            xs.Add((float)x);
        }

        xs.AddRange([-1000f, -100f, 0f, 1e-6f, -1e-6f, 100f, 1000f, float.MaxValue, float.MinValue]);
        float[] values = [.. xs];
        NeuralOps.SigmoidInPlace(values);
        for (int i = 0; i < values.Length; i++)
        {
            double expected = NeuralOps.Sigmoid(xs[i]);
            Assert.True(float.IsFinite(values[i]) && values[i] >= 0f && values[i] <= 1f, $"sigmoid({xs[i]}) = {values[i]}");
            Assert.True(Math.Abs(values[i] - expected) <= 2e-7, $"sigmoid({xs[i]}) = {values[i]}, expected {expected}");
            if (Math.Abs(xs[i]) <= 80)
            {
                Assert.True(Math.Abs(values[i] - expected) <= 1e-6 * expected, $"relative error at {xs[i]}: {values[i]} vs {expected}");
            }
        }
    }
}
