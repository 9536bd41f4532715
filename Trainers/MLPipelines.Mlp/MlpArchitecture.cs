namespace MLPipelines.Mlp;

/// <summary>Activation function of the hidden layers.</summary>
public enum Activation
{
    /// <summary>Logistic sigmoid, 1 / (1 + e^-x). Weights use Xavier/Glorot initialisation.</summary>
    Sigmoid,

    /// <summary>Rectified linear unit, max(0, x). Weights use He initialisation.</summary>
    Relu,

    /// <summary>Hyperbolic tangent. Weights use Xavier/Glorot initialisation.</summary>
    Tanh,
}

/// <summary>Kind of output layer and loss.</summary>
public enum OutputKind
{
    /// <summary>One sigmoid unit giving P(class 1), trained with binary cross-entropy.</summary>
    SigmoidBinary,

    /// <summary>K softmax units, trained with categorical cross-entropy.</summary>
    SoftmaxMulticlass,
}

/// <summary>Shape of a fully connected network.</summary>
public sealed class MlpArchitecture
{
    /// <summary>Gets the number of input features. Must be positive.</summary>
    public int InputSize { get; init; }

    /// <summary>Gets the widths of the hidden layers, input side first (may be empty). The default value is [64].</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [64];

    /// <summary>Gets the activation of every hidden layer. The default value is <see cref="Activation.Sigmoid"/>.</summary>
    public Activation HiddenActivation { get; init; } = Activation.Sigmoid;

    /// <summary>Gets the kind of output layer. The default value is <see cref="OutputKind.SigmoidBinary"/>.</summary>
    public OutputKind Output { get; init; }

    /// <summary>Gets the number of classes (used by <see cref="OutputKind.SoftmaxMulticlass"/>; must be at least 2). The default value is 2.</summary>
    public int ClassCount { get; init; } = 2;

    /// <summary>Gets the number of output units: 1 for <see cref="OutputKind.SigmoidBinary"/>, otherwise <see cref="ClassCount"/>.</summary>
    public int OutputSize => Output == OutputKind.SigmoidBinary ? 1 : ClassCount;

    /// <summary>Gets the number of classes a label may take: 2 for binary output, otherwise <see cref="ClassCount"/>.</summary>
    public int LabelClassCount => Output == OutputKind.SigmoidBinary ? 2 : ClassCount;

    /// <summary>Gets the number of trainable parameters (weights and biases).</summary>
    public long ParameterCount
    {
        get
        {
            long total = 0;
            int fanIn = InputSize;
            foreach (int h in HiddenSizes)
            {
                total += ((long)fanIn * h) + h;
                fanIn = h;
            }

            return total + ((long)fanIn * OutputSize) + OutputSize;
        }
    }

    /// <summary>Checks the architecture.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (InputSize <= 0)
        {
            throw new ArgumentException($"{nameof(InputSize)} must be positive (was {InputSize}).", nameof(InputSize));
        }

        if (HiddenSizes is null)
        {
            throw new ArgumentException($"{nameof(HiddenSizes)} must not be null.", nameof(HiddenSizes));
        }

        for (int i = 0; i < HiddenSizes.Count; i++)
        {
            if (HiddenSizes[i] <= 0)
            {
                throw new ArgumentException($"{nameof(HiddenSizes)}[{i}] must be positive (was {HiddenSizes[i]}).", nameof(HiddenSizes));
            }
        }

        if (!Enum.IsDefined(HiddenActivation))
        {
            throw new ArgumentException($"{nameof(HiddenActivation)} has an unknown value {HiddenActivation}.", nameof(HiddenActivation));
        }

        if (!Enum.IsDefined(Output))
        {
            throw new ArgumentException($"{nameof(Output)} has an unknown value {Output}.", nameof(Output));
        }

        if (Output == OutputKind.SoftmaxMulticlass && ClassCount < 2)
        {
            throw new ArgumentException($"{nameof(ClassCount)} must be at least 2 for softmax output (was {ClassCount}).", nameof(ClassCount));
        }
    }

    /// <summary>Layer widths from the input to the output, e.g. [784, 64, 1].</summary>
    internal int[] LayerSizes()
    {
        var sizes = new int[HiddenSizes.Count + 2];
        sizes[0] = InputSize;
        for (int i = 0; i < HiddenSizes.Count; i++)
        {
            sizes[i + 1] = HiddenSizes[i];
        }

        sizes[^1] = OutputSize;
        return sizes;
    }
}
