using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Nets;

/// <summary>
/// A multilayer perceptron: Linear - ReLU - Dropout (optional) for every hidden layer, then a final Linear producing raw
/// logits, e.g. 784-128-64-10 or 784-128-2. Input [N, D]. Weights use TorchSharp's default Linear init from the global
/// generator: seed it first (<see cref="TorchSeed.Set"/>) for reproducible networks.
/// </summary>
public sealed class MlpNet : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Sequential layers;

    /// <summary>Builds the MLP.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="sizes">Layer widths including input and output, at least two entries, all positive.</param>
    /// <param name="dropout">Dropout probability after each hidden ReLU; 0 for none.</param>
    public MlpNet(string name, IReadOnlyList<int> sizes, double dropout = 0) : base(name)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count < 2) throw new ArgumentException("An MLP needs at least an input and an output size.", nameof(sizes));
        if (sizes.Any(s => s < 1)) throw new ArgumentException("Layer sizes must be positive.", nameof(sizes));
        if (dropout is < 0 or >= 1 || double.IsNaN(dropout)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout must be in [0, 1).");
        Sizes = sizes.ToArray();
        Dropout = dropout;

        var l = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < sizes.Count - 1; i++)
        {
            l.Add(($"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1])));
            if (i == sizes.Count - 2) break;
            l.Add(($"relu{i + 1}", nn.ReLU()));
            if (dropout > 0) l.Add(($"dropout{i + 1}", nn.Dropout(dropout)));
        }
        layers = nn.Sequential(l);
        RegisterComponents();
    }

    /// <summary>Layer widths including input and output.</summary>
    public IReadOnlyList<int> Sizes { get; }

    /// <summary>Dropout probability after each hidden ReLU.</summary>
    public double Dropout { get; }

    /// <summary>Creates an MLP with the given layer widths (call <see cref="TorchSeed.Set"/> first for reproducible weights).</summary>
    /// <param name="sizes">Layer widths including input and output, e.g. [784, 128, 64, 10].</param>
    /// <param name="dropout">Dropout probability after each hidden ReLU; 0 for none.</param>
    /// <returns>The new module.</returns>
    public static MlpNet Create(IReadOnlyList<int> sizes, double dropout = 0) => new("mlp", sizes, dropout);

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => layers.forward(x);

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix) =>
        TorchOnnxExporter.WriteModule(g, layers, input, prefix + ".layers");
}
