using MLPipelines.Tests.Torch.Training;
using MLPipelines.Torch.Nets;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch;

/// <summary>
/// Seeding libtorch's process-wide generator reproduces the initial weights. In the torch-training collection, which runs
/// alone: a torch test drawing random numbers beside it would change the second draw.
/// </summary>
[Collection(TorchTrainingCollection.Name)]
public sealed class TorchSeedingTests
{
    [TorchFact]
    public void Seeding_GivesIdenticalWeights()
    {
        static float[] Flat(nn.Module m) => m.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
        TorchSeed.Set(7);
        var a = Flat(ConvNet.Create(ConvNetOptions.Bn4Dropout(3, imageSize: 16)));
        TorchSeed.Set(7);
        var b = Flat(ConvNet.Create(ConvNetOptions.Bn4Dropout(3, imageSize: 16)));
        TorchSeed.Set(8);
        var c = Flat(ConvNet.Create(ConvNetOptions.Bn4Dropout(3, imageSize: 16)));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        TorchSeed.Set(7);
        var m1 = Flat(MlpNet.Create([10, 4, 2]));
        TorchSeed.Set(7);
        Assert.Equal(m1, Flat(MlpNet.Create([10, 4, 2])));
    }
}
