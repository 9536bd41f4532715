using System.Numerics.Tensors;
using MLPipelines.Mlp.Kernels;

namespace MLPipelines.Mlp;

/// <summary>
/// Every buffer a forward and backward pass needs for up to <see cref="MaxRows"/> rows, allocated once,
/// so the training loop allocates nothing.
/// </summary>
internal sealed class MlpWorkspace
{
    private readonly int[] _sizes;
    private readonly Activation _activation;
    private readonly OutputKind _output;

    // _a[l] (l = 1..L): hidden outputs after the activation, or the logits for l = L. Index 0 unused.
    private readonly float[][] _a;

    // _dropped[l]: _a[l] ⊙ mask, the next layer's input while dropout is active.
    private readonly float[][] _dropped;
    private readonly float[][] _mask;

    // _delta[l]: ∂loss/∂z for layer l (and, transiently, ∂loss/∂a before the activation derivative).
    private readonly float[][] _delta;
    private bool _dropoutActive;

    public MlpWorkspace(MlpArchitecture arch, int maxRows, bool dropout)
    {
        _sizes = arch.LayerSizes();
        _activation = arch.HiddenActivation;
        _output = arch.Output;
        MaxRows = maxRows;
        int layers = _sizes.Length - 1;
        _a = new float[layers + 1][];
        _delta = new float[layers + 1][];
        _dropped = new float[layers + 1][];
        _mask = new float[layers + 1][];
        WeightGradients = new float[layers][];
        BiasGradients = new float[layers][];
        for (int l = 1; l <= layers; l++)
        {
            _a[l] = new float[maxRows * _sizes[l]];
            _delta[l] = new float[maxRows * _sizes[l]];
            _dropped[l] = dropout && l < layers ? new float[maxRows * _sizes[l]] : [];
            _mask[l] = dropout && l < layers ? new float[maxRows * _sizes[l]] : [];
            WeightGradients[l - 1] = []; // allocated on the first unfused Backward (plain SGD never needs it)
            BiasGradients[l - 1] = new float[_sizes[l]];
        }
    }

    public int MaxRows { get; }

    /// <summary>Gradients of the last <see cref="Backward"/> in gradient mode, [layer][Inputs × Outputs].</summary>
    public float[][] WeightGradients { get; }

    public float[][] BiasGradients { get; }

    private int Layers => _sizes.Length - 1;

    /// <summary>Input of layer l (1-based): the batch for l = 1, otherwise layer l − 1's (possibly dropped-out) output.</summary>
    private ReadOnlySpan<float> InputOf(int l, ReadOnlySpan<float> x, int rows)
        => l == 1 ? x : (_dropoutActive ? _dropped[l - 1] : _a[l - 1]).AsSpan(0, rows * _sizes[l - 1]);

    /// <summary>Forward pass; with <paramref name="dropout"/> &gt; 0 (and an RNG) hidden outputs are dropped out (inverted scaling).</summary>
    public void Forward(DenseLayer[] layers, ReadOnlySpan<float> x, int rows, double dropout, Xoshiro256? rng)
    {
        _dropoutActive = dropout > 0 && rng is not null;
        float keepScale = (float)(1.0 / (1.0 - dropout));
        float drop = (float)dropout;
        for (int l = 1; l <= Layers; l++)
        {
            int nIn = _sizes[l - 1], nOut = _sizes[l];
            DenseLayer layer = layers[l - 1];
            Span<float> z = _a[l].AsSpan(0, rows * nOut);
            Gemm.Multiply(false, false, rows, nOut, nIn, 1f, InputOf(l, x, rows), nIn, layer.Weights, nOut, 0f, z, nOut, layer.Bias);
            if (l < Layers)
            {
                NeuralOps.Activate(_activation, z);
                if (_dropoutActive)
                {
                    Span<float> mask = _mask[l].AsSpan(0, z.Length);
                    for (int i = 0; i < mask.Length; i++)
                    {
                        mask[i] = rng!.NextSingle() >= drop ? keepScale : 0f;
                    }

                    TensorPrimitives.Multiply(z, mask, _dropped[l].AsSpan(0, z.Length));
                }
            }
        }
    }

    /// <summary>Summed loss over the rows, correct count, and the output delta (∂ mean loss / ∂ logits, times <paramref name="scale"/> · rows).</summary>
    public double OutputLossAndDelta(ReadOnlySpan<int> labels, int rows, float scale, out int correct, double smoothing = 0)
    {
        int k = _sizes[^1];
        ReadOnlySpan<float> logits = _a[Layers].AsSpan(0, rows * k);
        Span<float> delta = _delta[Layers].AsSpan(0, rows * k);
        return _output == OutputKind.SigmoidBinary
            ? NeuralOps.SigmoidBinary(logits, labels, rows, delta, scale, out correct)
            : NeuralOps.SoftmaxCrossEntropy(logits, labels, rows, k, delta, scale, out correct, smoothing);
    }

    /// <summary>Summed loss and correct count only.</summary>
    public double OutputLoss(ReadOnlySpan<int> labels, int rows, out int correct)
    {
        int k = _sizes[^1];
        ReadOnlySpan<float> logits = _a[Layers].AsSpan(0, rows * k);
        return _output == OutputKind.SigmoidBinary
            ? NeuralOps.SigmoidBinary(logits, labels, rows, default, 0f, out correct)
            : NeuralOps.SoftmaxCrossEntropy(logits, labels, rows, k, default, 0f, out correct);
    }

    /// <summary>
    /// Back-propagation. With a finite <paramref name="sgdLearningRate"/> the plain SGD step is fused into the weight-gradient
    /// product (<c>W ← (1 − ηλ) W − η Xᵀ δ</c>, one pass over W); otherwise gradients (plus λ W) go to
    /// <see cref="WeightGradients"/> and <see cref="BiasGradients"/>.
    /// </summary>
    public void Backward(DenseLayer[] layers, ReadOnlySpan<float> x, int rows, float sgdLearningRate, float l2)
    {
        bool fused = float.IsFinite(sgdLearningRate);
        for (int l = Layers; l >= 1; l--)
        {
            int nIn = _sizes[l - 1], nOut = _sizes[l];
            DenseLayer layer = layers[l - 1];
            ReadOnlySpan<float> delta = _delta[l].AsSpan(0, rows * nOut);
            if (l > 1)
            {
                // ∂loss/∂a_{l-1} = δ_l · Wᵀ, with the weights before this step's update.
                Span<float> prev = _delta[l - 1].AsSpan(0, rows * nIn);
                Gemm.Multiply(false, true, rows, nIn, nOut, 1f, delta, nOut, layer.Weights, nOut, 0f, prev, nIn);
                if (_dropoutActive)
                {
                    TensorPrimitives.Multiply(prev, _mask[l - 1].AsSpan(0, prev.Length), prev);
                }

                NeuralOps.MultiplyByDerivative(_activation, _a[l - 1].AsSpan(0, prev.Length), prev);
            }

            ReadOnlySpan<float> input = InputOf(l, x, rows);
            Span<float> gb = BiasGradients[l - 1];
            NeuralOps.ColumnSums(delta, rows, nOut, gb);
            if (fused)
            {
                float lr = sgdLearningRate;
                Gemm.Multiply(true, false, nIn, nOut, rows, -lr, input, nIn, delta, nOut, 1f - (lr * l2), layer.Weights, nOut);
                TensorPrimitives.MultiplyAdd(gb, -lr, layer.Bias, layer.Bias);
            }
            else
            {
                if (WeightGradients[l - 1].Length == 0)
                {
                    WeightGradients[l - 1] = new float[nIn * nOut];
                }

                Span<float> gw = WeightGradients[l - 1];
                Gemm.Multiply(true, false, nIn, nOut, rows, 1f, input, nIn, delta, nOut, 0f, gw, nOut);
                if (l2 != 0f)
                {
                    TensorPrimitives.MultiplyAdd(layer.Weights, l2, gw, gw);
                }
            }
        }
    }
}
