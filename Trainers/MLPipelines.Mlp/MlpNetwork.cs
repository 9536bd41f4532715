using MLPipelines.Mlp.Kernels;

namespace MLPipelines.Mlp;

/// <summary>A fully connected layer computing <c>z = x · W + b</c>.</summary>
public sealed class DenseLayer
{
    /// <summary>Initializes a new instance of the <see cref="DenseLayer"/> class with zero weights and biases.</summary>
    /// <param name="inputs">Number of inputs (rows of <see cref="Weights"/>).</param>
    /// <param name="outputs">Number of outputs (columns of <see cref="Weights"/>).</param>
    public DenseLayer(int inputs, int outputs)
        : this(inputs, outputs, new float[checked(inputs * outputs)], new float[outputs])
    {
    }

    /// <summary>Initializes a new instance of the <see cref="DenseLayer"/> class around existing arrays (not copied).</summary>
    /// <param name="inputs">Number of inputs.</param>
    /// <param name="outputs">Number of outputs.</param>
    /// <param name="weights">Row-major [inputs, outputs] weights.</param>
    /// <param name="bias">One bias per output.</param>
    public DenseLayer(int inputs, int outputs, float[] weights, float[] bias)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputs);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bias);
        if (weights.Length != (long)inputs * outputs)
        {
            throw new ArgumentException($"Expected {inputs}×{outputs} weights, got {weights.Length}.", nameof(weights));
        }

        if (bias.Length != outputs)
        {
            throw new ArgumentException($"Expected {outputs} biases, got {bias.Length}.", nameof(bias));
        }

        Inputs = inputs;
        Outputs = outputs;
        Weights = weights;
        Bias = bias;
    }

    /// <summary>Gets the number of inputs.</summary>
    public int Inputs { get; }

    /// <summary>Gets the number of outputs.</summary>
    public int Outputs { get; }

    /// <summary>Gets the weights, row-major [<see cref="Inputs"/>, <see cref="Outputs"/>]: weight (i, j) is at i · Outputs + j.</summary>
    public float[] Weights { get; }

    /// <summary>Gets the biases, one per output.</summary>
    public float[] Bias { get; }

    /// <summary>A deep copy.</summary>
    internal DenseLayer Clone() => new(Inputs, Outputs, (float[])Weights.Clone(), (float[])Bias.Clone());
}

/// <summary>A trained (or loaded) multi-layer perceptron. Prediction methods are thread-safe.</summary>
public sealed class MlpNetwork
{
    private const int PredictChunk = 256;

    private readonly DenseLayer[] _layers;
    private readonly int _maxWidth;

    [ThreadStatic]
    private static float[]? t_scratch;

    private MlpNetwork(MlpArchitecture architecture, DenseLayer[] layers)
    {
        Architecture = architecture;
        _layers = layers;
        _maxWidth = layers.Max(l => l.Outputs);
    }

    /// <summary>Gets the architecture.</summary>
    public MlpArchitecture Architecture { get; }

    /// <summary>Gets the layers, input side first; the last one is the output layer.</summary>
    public IReadOnlyList<DenseLayer> Layers => _layers;

    internal DenseLayer[] LayerArray => _layers;

    /// <summary>Builds a network from existing layers (used as they are, not copied).</summary>
    /// <param name="a">The architecture the layers must match.</param>
    /// <param name="layers">One layer per hidden layer plus the output layer.</param>
    /// <returns>The network.</returns>
    /// <exception cref="ArgumentException">The layers do not match the architecture.</exception>
    public static MlpNetwork FromLayers(MlpArchitecture a, IReadOnlyList<DenseLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(layers);
        a.Validate();
        int[] sizes = a.LayerSizes();
        if (layers.Count != sizes.Length - 1)
        {
            throw new ArgumentException($"The architecture has {sizes.Length - 1} layers but {layers.Count} were given.", nameof(layers));
        }

        for (int l = 0; l < layers.Count; l++)
        {
            if (layers[l] is null || layers[l].Inputs != sizes[l] || layers[l].Outputs != sizes[l + 1])
            {
                throw new ArgumentException($"Layer {l} must be {sizes[l]}→{sizes[l + 1]}.", nameof(layers));
            }
        }

        return new MlpNetwork(a, [.. layers]);
    }

    internal static MlpNetwork Create(MlpArchitecture a, DenseLayer[] layers) => new(a, layers);

    /// <summary>Computes the output-layer pre-activations (logits) of one row.</summary>
    /// <param name="features">The row: <see cref="MlpArchitecture.InputSize"/> values.</param>
    /// <param name="logits">Receives <see cref="MlpArchitecture.OutputSize"/> logits.</param>
    public void PredictLogits(ReadOnlySpan<float> features, Span<float> logits)
    {
        CheckRow(features, logits);
        float[] scratch = t_scratch is { } s && s.Length >= 2 * _maxWidth ? s : (t_scratch = new float[2 * _maxWidth]);
        Forward(_layers, Architecture.HiddenActivation, features, 1, scratch.AsSpan(0, _maxWidth), scratch.AsSpan(_maxWidth, _maxWidth), logits);
    }

    /// <summary>Computes the output probabilities of one row.</summary>
    /// <param name="features">The row: <see cref="MlpArchitecture.InputSize"/> values.</param>
    /// <param name="output">Receives P(class 1) for sigmoid output, or the K class probabilities for softmax output.</param>
    public void PredictProbabilities(ReadOnlySpan<float> features, Span<float> output)
    {
        PredictLogits(features, output);
        ToProbabilities(output, 1);
    }

    /// <summary>Computes the output probabilities of many rows.</summary>
    /// <param name="features">Row-major rows, <paramref name="count"/> × <see cref="MlpArchitecture.InputSize"/> values.</param>
    /// <param name="count">Number of rows.</param>
    /// <returns><paramref name="count"/> × <see cref="MlpArchitecture.OutputSize"/> probabilities, row-major.</returns>
    public float[] PredictProbabilitiesBatch(ReadOnlySpan<float> features, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int d = Architecture.InputSize;
        int k = Architecture.OutputSize;
        if (features.Length != (long)count * d)
        {
            throw new ArgumentException($"Expected {count}×{d} features, got {features.Length}.", nameof(features));
        }

        var result = new float[count * k];
        int chunk = Math.Min(PredictChunk, Math.Max(count, 1));
        var bufA = new float[chunk * _maxWidth];
        var bufB = new float[chunk * _maxWidth];
        for (int start = 0; start < count; start += chunk)
        {
            int rows = Math.Min(chunk, count - start);
            Span<float> output = result.AsSpan(start * k, rows * k);
            Forward(_layers, Architecture.HiddenActivation, features.Slice(start * d, rows * d), rows, bufA, bufB, output);
            ToProbabilities(output, rows);
        }

        return result;
    }

    private void ToProbabilities(Span<float> values, int rows)
    {
        int k = Architecture.OutputSize;
        if (Architecture.Output == OutputKind.SigmoidBinary)
        {
            for (int r = 0; r < rows; r++)
            {
                values[r] = (float)NeuralOps.Sigmoid(values[r]);
            }
        }
        else
        {
            NeuralOps.SoftmaxRows(values, rows, k);
        }
    }

    private void CheckRow(ReadOnlySpan<float> features, Span<float> output)
    {
        if (features.Length != Architecture.InputSize)
        {
            throw new ArgumentException($"Expected {Architecture.InputSize} features, got {features.Length}.", nameof(features));
        }

        if (output.Length < Architecture.OutputSize)
        {
            throw new ArgumentException($"The output needs room for {Architecture.OutputSize} values.", nameof(output));
        }
    }

    /// <summary>Inference forward pass of <paramref name="rows"/> rows; hidden activations ping-pong between two buffers.</summary>
    internal static void Forward(DenseLayer[] layers, Activation activation, ReadOnlySpan<float> x, int rows, Span<float> bufA, Span<float> bufB, Span<float> logits)
    {
        ReadOnlySpan<float> input = x;
        for (int l = 0; l < layers.Length; l++)
        {
            DenseLayer layer = layers[l];
            bool last = l == layers.Length - 1;
            Span<float> output = last ? logits[..(rows * layer.Outputs)] : ((l & 1) == 0 ? bufA : bufB)[..(rows * layer.Outputs)];
            Gemm.Multiply(false, false, rows, layer.Outputs, layer.Inputs, 1f, input, layer.Inputs, layer.Weights, layer.Outputs, 0f, output, layer.Outputs, layer.Bias);
            if (!last)
            {
                NeuralOps.Activate(activation, output);
            }

            input = output;
        }
    }
}
