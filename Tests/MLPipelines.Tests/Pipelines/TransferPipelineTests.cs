using MLPipelines.Pipelines.Milestones;
using MLPipelines.Tests.Torch;
using MLPipelines.Torch.Transfer;

namespace MLPipelines.Tests.Pipelines;

/// <summary>Milestone 3 pipeline pieces: the Stanford Cars CSV reader and the backbone factory.</summary>
public sealed class TransferPipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlp-transfer-cars-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [TorchFact]
    public void CreateBackbone_RandomWeights_HasNewHeadAndImageNetNormalization()
    {
        using var net = Milestone3Transfer.CreateBackbone("densenet121", null, 7, 0.5);
        Assert.IsType<DenseNet>(net);
        Assert.Equal(7, net.ClassCount);
        Assert.Equal(0.5, net.HeadDropout);
        Assert.Same(InputNormalization.ImageNet, net.Normalization);
        Assert.Throws<ArgumentException>(() => Milestone3Transfer.CreateBackbone("vgg16", null, 7, 0));
    }
}
