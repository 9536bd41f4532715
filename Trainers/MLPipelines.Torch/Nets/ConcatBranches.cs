using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Nets;

/// <summary>
/// Runs several branches on the same input and concatenates their outputs along the channel axis (dimension 1),
/// optionally with the input itself first: <c>cat([x?, b0(x), b1(x), ...], 1)</c> (Inception / DenseNet style).
/// </summary>
public sealed class ConcatBranches : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> branches;
    private readonly bool includeInput;

    /// <summary>Creates the concatenation.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="includeInput">Whether the input itself is the first concatenated tensor.</param>
    /// <param name="branches">The branches; all outputs must agree in every dimension but 1.</param>
    public ConcatBranches(string name, bool includeInput, params nn.Module<Tensor, Tensor>[] branches) : base(name)
    {
        ArgumentNullException.ThrowIfNull(branches);
        if (branches.Length == 0 && !includeInput) throw new ArgumentException("At least one branch (or the input) is needed.", nameof(branches));
        if (branches.Any(b => b is null)) throw new ArgumentException("Branches cannot be null.", nameof(branches));
        this.branches = nn.ModuleList(branches);
        this.includeInput = includeInput;
        RegisterComponents();
    }

    /// <summary>Whether the input is the first concatenated tensor.</summary>
    public bool IncludesInput => includeInput;

    /// <summary>Number of branches (not counting the input).</summary>
    public int BranchCount => branches.Count;

    /// <summary>Concatenates the outputs of <paramref name="branches"/> along dimension 1.</summary>
    /// <param name="branches">The branches.</param>
    /// <returns>The new module.</returns>
    public static ConcatBranches Of(params nn.Module<Tensor, Tensor>[] branches) => new("concat", false, branches);

    /// <summary>Concatenates the input with <paramref name="f"/>(input) along dimension 1 (a DenseNet connection).</summary>
    /// <param name="f">The branch.</param>
    /// <returns>The new module.</returns>
    public static ConcatBranches WithInput(nn.Module<Tensor, Tensor> f) => new("dense", true, f);

    /// <summary>
    /// A DenseNet layer: <c>cat([x, conv3x3(relu(bn(x)))], 1)</c>, adding <paramref name="growthRate"/> channels.
    /// </summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="growthRate">Channels added by the layer.</param>
    /// <returns>The new module, with <c>inChannels + growthRate</c> output channels.</returns>
    public static ConcatBranches DenseLayer(int inChannels, int growthRate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(growthRate, 1);
        return WithInput(nn.Sequential(
            ("bn", nn.BatchNorm2d(inChannels)),
            ("relu", nn.ReLU()),
            ("conv", HeInit.Conv(nn.Conv2d(inChannels, growthRate, 3, padding: 1, bias: false)))));
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var parts = new List<Tensor>(branches.Count + 1);
        if (includeInput) parts.Add(x);
        foreach (var b in branches) parts.Add(b.forward(x));
        var y = cat(parts, 1);
        foreach (var p in parts)
            if (!ReferenceEquals(p, x)) p.Dispose();
        return y;
    }

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        var parts = new List<string>(branches.Count + 1);
        if (includeInput) parts.Add(input);
        for (int i = 0; i < branches.Count; i++)
            parts.Add(TorchOnnxExporter.WriteModule(g, branches[i], input, $"{prefix}.branches.{i}"));
        return parts.Count == 1 ? parts[0] : g.AddNode("Concat", parts, g.UniqueName(prefix + "/Concat"), OnnxAttribute.Int("axis", 1));
    }
}
