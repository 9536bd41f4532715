using System.Diagnostics;
using System.Globalization;
using MLPipelines.Torch.Transfer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>
/// A copy of the head of a <see cref="TorchBackbone"/> as a module over embeddings, for training it on cached features
/// (its state dict is the head's, e.g. "fc.weight", "fc.bias"); <see cref="WriteBack"/> copies the trained weights
/// into the backbone's head. Dropout and the head kind (linear or cosine) match <see cref="TorchBackbone.ForwardHead"/>.
/// </summary>
internal sealed class HeadOnly : nn.Module<Tensor, Tensor>
{
    private readonly TorchBackbone backbone;
    private readonly Linear head;

    public HeadOnly(TorchBackbone backbone) : base(nameof(HeadOnly))
    {
        this.backbone = backbone;
        var source = backbone.Head;
        head = nn.Linear(source.in_features, source.out_features, hasBias: source.bias is not null);
        head.to(source.weight!.device);
        using (torch.no_grad())
        {
            head.weight!.copy_(source.weight);
            head.bias?.copy_(source.bias!);
        }
        register_module(backbone.HeadName, head);
    }

    /// <summary>The backbone whose head this copies (its head kind, dropout and margin apply).</summary>
    public TorchBackbone Backbone => backbone;

    public override Tensor forward(Tensor input) => backbone.ApplyHead(head, input, training);

    /// <summary>Copies the trained weights into the backbone's head.</summary>
    public void WriteBack()
    {
        var target = backbone.Head;
        using (torch.no_grad())
        {
            target.weight!.copy_(head.weight!);
            target.bias?.copy_(head.bias!);
        }
    }
}

/// <summary>Embeddings of whole datasets through a frozen <see cref="TorchBackbone"/> (eval mode, no gradients).</summary>
internal static class FeatureCache
{
    /// <summary>Freezes every stage and returns the embeddings of <paramref name="train"/> and <paramref name="validation"/> as flat datasets.</summary>
    public static (TorchDataset Train, TorchDataset? Validation) Compute(
        TorchBackbone backbone, TorchDataset train, TorchDataset? validation, int batchSize, Device device, IProgress<string>? log)
    {
        backbone.SetTrainableStages(0);
        int total = train.Count + (validation?.Count ?? 0);
        log?.Report(string.Create(CultureInfo.InvariantCulture,
            $"Frozen backbone, no augmentation: computing the {backbone.FeatureCount}-d embeddings of {total} images once; the head trains on them."));
        var clock = Stopwatch.StartNew();
        var trainFeatures = Embed(backbone, train, batchSize, device);
        var validationFeatures = validation is null ? null : Embed(backbone, validation, batchSize, device);
        double seconds = clock.Elapsed.TotalSeconds;
        log?.Report(string.Create(CultureInfo.InvariantCulture,
            $"Embeddings computed in {seconds:F1} s ({total / Math.Max(seconds, 1e-9):F1} images/s)."));
        return (trainFeatures, validationFeatures);
    }

    private static TorchDataset Embed(TorchBackbone backbone, TorchDataset data, int batchSize, Device device)
    {
        backbone.eval();
        using var noGrad = torch.no_grad();
        int f = backbone.FeatureCount, n = data.Count;
        var result = new float[(long)n * f];
        for (int start = 0; start < n; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            int count = Math.Min(batchSize, n - start);
            var x = TorchClassifierTrainer.Rows(data, start, count, device).view(data.BatchShape(count));
            var features = backbone.Features(x).to(CPU).contiguous();
            features.data<float>().CopyTo(result, start * f);
        }
        return new TorchDataset(result, data.Labels, f);
    }
}
