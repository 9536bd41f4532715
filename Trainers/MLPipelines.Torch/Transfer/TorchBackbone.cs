using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Transfer;

/// <summary>A group of backbone parameters frozen or unfrozen together (e.g. ResNet's "layer4").</summary>
/// <param name="Name">The stage name, e.g. "stem", "layer1", "block4".</param>
/// <param name="Prefixes">State-dict name prefixes of the stage's parameters and modules (e.g. "layer4.").</param>
public sealed record BackboneStage(string Name, IReadOnlyList<string> Prefixes)
{
    /// <summary>Whether the state-dict entry <paramref name="name"/> belongs to this stage.</summary>
    /// <param name="name">A parameter, buffer or module path.</param>
    public bool Contains(string name) => Prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal) || name + "." == p);
}

/// <summary>
/// A pretrained-style classification network split into a feature extractor and a replaceable head, linear or cosine
/// (<see cref="Cosine"/>): <c>forward(x) = head(dropout(Features(x)))</c>, where <see cref="Features"/> applies the optional
/// <see cref="Normalization"/> and returns the pooled embedding [N, <see cref="FeatureCount"/>].
/// The backbone is divided into <see cref="Stages"/> (input to output) that transfer-learning strategies freeze and
/// unfreeze (<see cref="SetTrainableStages"/>); frozen stages keep <c>requires_grad = false</c> and stay in eval mode
/// (batch-norm statistics are not updated) even when the module is put in training mode.
/// </summary>
public abstract class TorchBackbone : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private double headDropout;
    private int trainableStages;
    private CosineHead? cosine;

    /// <summary>Creates the module.</summary>
    /// <param name="name">Module name.</param>
    protected TorchBackbone(string name) : base(name)
    {
    }

    /// <summary>Length of the pooled embedding returned by <see cref="Features"/> (512, 2048, 1024, ...).</summary>
    public abstract int FeatureCount { get; }

    /// <summary>Number of outputs of the current head.</summary>
    public int ClassCount => (int)HeadLinear.out_features;

    /// <summary>Dropout probability applied to the embedding before the head in training mode (0 for none).</summary>
    public double HeadDropout => headDropout;

    /// <summary>
    /// The cosine head's settings (scale, margin) when the head is a cosine classifier (its Linear holds the class
    /// weights, without bias: logits = s · cos θ), or null for a linear head. Set by <see cref="ReplaceHead"/>.
    /// </summary>
    public CosineHead? Cosine => cosine?.Clone();

    /// <summary>State-dict name of the head module ("fc" for ResNet, "classifier" for DenseNet).</summary>
    public abstract string HeadName { get; }

    /// <summary>The backbone stages, from the input to the output (the head is not a stage).</summary>
    public abstract IReadOnlyList<BackboneStage> Stages { get; }

    /// <summary>
    /// Per-channel input map applied at the start of <see cref="Features"/> (and in the exported graph), or null for
    /// none. The default value is null.
    /// </summary>
    public InputNormalization? Normalization { get; set; }

    /// <summary>How many stages, counted from the output end, are trainable (all of them after construction).</summary>
    public int TrainableStageCount => trainableStages;

    /// <summary>The current head (a Linear layer).</summary>
    protected abstract Linear HeadLinear { get; }

    /// <summary>The pooled embedding [N, <see cref="FeatureCount"/>] of an NCHW batch (input normalisation included).</summary>
    /// <param name="x">Images [N, C, H, W].</param>
    /// <returns>The embedding.</returns>
    public Tensor Features(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Normalization is null)
            return ForwardFeatures(x);
        using var normalized = Normalization.Apply(x);
        return ForwardFeatures(normalized);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var features = Features(x);
        return ForwardHead(features, training);
    }

    /// <summary>The head applied to embeddings [N, <see cref="FeatureCount"/>]: logits [N, <see cref="ClassCount"/>].</summary>
    /// <param name="features">Embeddings, e.g. from <see cref="Features"/>.</param>
    /// <param name="training">Apply the head dropout (training mode).</param>
    /// <returns>The logits.</returns>
    public Tensor ForwardHead(Tensor features, bool training)
    {
        ArgumentNullException.ThrowIfNull(features);
        return ApplyHead(HeadLinear, features, training);
    }

    /// <summary><paramref name="head"/> (this backbone's head or a copy of it) applied as this backbone's head is: dropout in training, then linear or cosine logits.</summary>
    internal Tensor ApplyHead(Linear head, Tensor features, bool training)
    {
        if (headDropout > 0 && training)
        {
            using var dropped = nn.functional.dropout(features, headDropout, training: true);
            return cosine is null ? head.forward(dropped) : cosine.Logits(dropped, head.weight!);
        }
        return cosine is null ? head.forward(features) : cosine.Logits(features, head.weight!);
    }

    /// <summary>
    /// The logits the training loss sees: with a cosine head whose margin is positive, <paramref name="logits"/> with
    /// s · m subtracted from each row's target class (<see cref="CosineHead.WithMargin"/>); otherwise <paramref name="logits"/> itself.
    /// Inference (and the exported graph) never applies the margin.
    /// </summary>
    /// <param name="logits">The forward pass's logits [N, K].</param>
    /// <param name="labels">Target classes [N].</param>
    /// <returns>The logits for the loss (a new tensor when the margin applies).</returns>
    public Tensor TrainingLogits(Tensor logits, Tensor labels) =>
        cosine is { Margin: > 0 } c ? c.WithMargin(logits, labels) : logits;

    /// <summary>The head module (training it alone on cached embeddings copies it).</summary>
    internal Linear Head => HeadLinear;

    /// <summary>
    /// Replaces the head by a new, randomly initialised Linear(<see cref="FeatureCount"/>, <paramref name="numClasses"/>)
    /// (PyTorch's default initialisation) with dropout <paramref name="dropout"/> before it, or, with
    /// <paramref name="cosineHead"/>, by a cosine classifier (the same Linear without bias holds the class weights;
    /// logits = s · cos θ). The new head is trainable and on the device of the backbone.
    /// </summary>
    /// <param name="numClasses">Number of outputs; at least 1.</param>
    /// <param name="dropout">Dropout probability in [0, 1) applied to the embedding in training mode.</param>
    /// <param name="cosineHead">Cosine head settings (copied), or null for a linear head.</param>
    public void ReplaceHead(int numClasses, double dropout = 0, CosineHead? cosineHead = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (!(dropout >= 0 && dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout must be in [0, 1).");
        cosineHead?.Validate();
        var device = HeadLinear.weight!.device;
        var head = nn.Linear(FeatureCount, numClasses, hasBias: cosineHead is null);
        head.to(device);
        SetHead(head);
        headDropout = dropout;
        cosine = cosineHead?.Clone();
    }

    /// <summary>Sets the dropout before the head without replacing it.</summary>
    /// <param name="dropout">Dropout probability in [0, 1).</param>
    public void SetHeadDropout(double dropout)
    {
        if (!(dropout >= 0 && dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout must be in [0, 1).");
        headDropout = dropout;
    }

    /// <summary>
    /// Makes the last <paramref name="count"/> stages (counted from the output end) and the head trainable and freezes
    /// the others (<c>requires_grad = false</c>, eval mode while frozen). 0 = only the head trains (frozen backbone);
    /// <c>Stages.Count</c> = full fine-tuning.
    /// </summary>
    /// <param name="count">Number of trainable stages, in [0, Stages.Count].</param>
    public void SetTrainableStages(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Stages.Count);
        trainableStages = count;
        var frozen = Stages.Take(Stages.Count - count).ToList();
        foreach (var (name, p) in named_parameters())
            p.requires_grad = !frozen.Any(s => s.Contains(name));
        if (training)
            train(true);
    }

    /// <summary>Names of the parameters that currently require gradients.</summary>
    public IReadOnlyList<string> TrainableParameterNames() =>
        named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();

    /// <summary>The head's parameters.</summary>
    public IEnumerable<Parameter> HeadParameters() => HeadLinear.parameters();

    /// <summary>The parameters of every stage (everything but the head).</summary>
    public IEnumerable<Parameter> BackboneParameters() =>
        named_parameters().Where(p => !p.name.StartsWith(HeadName + ".", StringComparison.Ordinal)).Select(p => p.parameter);

    /// <summary>Sets training mode; frozen stages stay in eval mode so their batch-norm statistics do not change.</summary>
    /// <param name="on">True for training mode.</param>
    public override void train(bool on = true)
    {
        base.train(on);
        if (!on)
            return;
        var frozen = Stages.Take(Stages.Count - trainableStages).ToList();
        if (frozen.Count == 0)
            return;
        foreach (var (name, module) in named_modules())
        {
            if (name.Length > 0 && frozen.Any(s => s.Contains(name)))
                module.eval();
        }
    }

    /// <inheritdoc/>
    public string WriteOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        ArgumentNullException.ThrowIfNull(g);
        string x = Normalization is null ? input : Normalization.WriteOnnx(g, input, prefix + ".normalization");
        string features = WriteFeaturesOnnx(g, x, prefix);
        return cosine is null
            ? TorchOnnxExporter.WriteModule(g, HeadLinear, features, prefix + "." + HeadName)
            : WriteCosineHeadOnnx(g, features, prefix + "." + HeadName);
    }

    /// <summary>
    /// The cosine head in ONNX: e / max(‖e‖, 1e-12) (ReduceL2, Max, Div), then MatMul with s · (W / ‖W‖)ᵀ, normalised and
    /// scaled at export time. The MatMul's data input is the normalised embedding, so a graph cut before the head
    /// (<c>OnnxFeatureCut</c>) yields unit-length embeddings: cosine and Euclidean neighbours then agree.
    /// </summary>
    private string WriteCosineHeadOnnx(OnnxGraphBuilder g, string features, string path)
    {
        string norm = g.AddNode("ReduceL2", [features], g.UniqueName(path + "/ReduceL2"), OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 1));
        string eps = g.AddInitializer(g.UniqueName(path + ".eps"), [1e-12f]);
        string clamped = g.AddNode("Max", [norm, eps], g.UniqueName(path + "/Max"));
        string unit = g.AddNode("Div", [features, clamped], g.UniqueName(path + "/Div"));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weight = CosineHead.Normalize(HeadLinear.weight!.detach()).mul(cosine!.Scale).t();
        string w = TorchOnnxExporter.AddTensor(g, weight, path + ".scaled_unit_weight_t");
        return g.AddNode("MatMul", [unit, w], g.UniqueName(path + "/MatMul"));
    }

    /// <summary>Writes the ONNX nodes computing the embedding [N, FeatureCount] from the (normalised) NCHW input.</summary>
    /// <param name="g">The graph under construction.</param>
    /// <param name="input">The normalised input.</param>
    /// <param name="prefix">This module's path.</param>
    /// <returns>The name of the embedding tensor.</returns>
    public string WriteFeaturesOnnx(OnnxGraphBuilder g, string input, string prefix)
    {
        ArgumentNullException.ThrowIfNull(g);
        string pooled = WriteFeatureMapOnnx(g, input, prefix);
        string gap = g.AddNode("GlobalAveragePool", [pooled], g.UniqueName(prefix + "/GlobalAveragePool"));
        return g.AddNode("Flatten", [gap], g.UniqueName(prefix + "/Flatten"), OnnxAttribute.Int("axis", 1));
    }

    /// <summary>Computes the embedding of an already normalised NCHW batch.</summary>
    /// <param name="x">The normalised input.</param>
    /// <returns>[N, FeatureCount].</returns>
    protected abstract Tensor ForwardFeatures(Tensor x);

    /// <summary>Writes the nodes computing the last feature map (before global average pooling).</summary>
    /// <param name="g">The graph under construction.</param>
    /// <param name="input">The normalised input.</param>
    /// <param name="prefix">This module's path.</param>
    /// <returns>The name of the feature map [N, FeatureCount, h, w].</returns>
    protected abstract string WriteFeatureMapOnnx(OnnxGraphBuilder g, string input, string prefix);

    /// <summary>Registers <paramref name="head"/> under <see cref="HeadName"/> in place of <paramref name="old"/>, which is disposed.</summary>
    /// <param name="old">The current head.</param>
    /// <param name="head">The new head.</param>
    /// <returns><paramref name="head"/>, for the derived class's field.</returns>
    protected Linear SwapHead(Linear old, Linear head)
    {
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(head);
        register_module(HeadName, null!);
        old.Dispose();
        register_module(HeadName, head);
        return head;
    }

    /// <summary>Swaps in a new head module under <see cref="HeadName"/> (disposing the old one).</summary>
    /// <param name="head">The new head.</param>
    protected abstract void SetHead(Linear head);

    /// <summary>Initialises the trainable-stage count; call at the end of a derived constructor.</summary>
    protected void InitializeStages() => trainableStages = Stages.Count;
}
