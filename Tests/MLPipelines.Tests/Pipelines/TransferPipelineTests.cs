using MLPipelines.Pipelines.Milestones;
using MLPipelines.Tests.Torch;
using MLPipelines.Torch.Transfer;

namespace MLPipelines.Tests.Pipelines;

/// <summary>Milestone 3 pipeline pieces: the Stanford Cars CSV reader and the backbone factory.</summary>
public sealed class TransferPipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlp-transfer-cars-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LoadDataset_ReadsStanfordCarsCsvLayout()
    {
        File.WriteAllText(Path.Combine(_dir, "names.csv"), "class_id,class_name\r\n1,AM General Hummer SUV 2000\r\n2,Acura RL Sedan 2012\r\n3,Unused 1999\r\n");
        File.WriteAllText(Path.Combine(_dir, "anno_train.csv"), "image_name,x_min,y_min,x_max,y_max,label\n00001.jpg,1,2,3,4,2\n00002.jpg,1,2,3,4,1\n");
        var (items, classes) = Milestone3Transfer.LoadDataset(_dir);
        Assert.Equal(["AM General Hummer SUV 2000", "Acura RL Sedan 2012"], classes);
        Assert.Equal(Path.Combine(_dir, "cars_train", "00001.jpg"), items[0].Path);
        Assert.Equal("Acura RL Sedan 2012", items[0].Label);
        Assert.Equal("AM General Hummer SUV 2000", items[1].Label);
    }

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
