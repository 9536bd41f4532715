using MLPipelines.Torch.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Torch.Training;

[Collection(TorchTrainingCollection.Name)]
public sealed class TrainingThroughputTests(ITestOutputHelper output)
{
    [TorchFact]
    public void Mlp784_128_64_10_Batch64_Throughput_IsReported()
    {
        var data = TrainingFixtures.Blobs(6400, 784, 10, seed: 1, noise: 1.0);
        var options = new TorchTrainingSettings
        {
            Optimizer = TorchOptimizerKind.Adam,
            LearningRate = 0.001,
            Epochs = 3,
            BatchSize = 64,
            Device = "cpu",
            Threads = Environment.ProcessorCount,
        };
        var result = new TorchClassifierTrainer(() => torch.nn.Sequential(
            torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)), options).Train(data);
        result.Module.Dispose();
        foreach (var e in result.History.Epochs)
            output.WriteLine($"epoch {e.Epoch}: loss {e.TrainLoss:F4}, accuracy {e.TrainAccuracy:F3}, {e.SamplesPerSecond:F0} images/s");
        output.WriteLine($"784-128-64-10 MLP, batch 64, Adam, {options.Threads} torch threads: {result.ImagesPerSecond:F0} images/s overall");
        Assert.True(result.ImagesPerSecond > 0);
        Assert.True(result.History.Epochs[^1].TrainAccuracy > 0.9);
    }
}

/// <summary>Serialises the training tests: they set libtorch's process-wide thread count.</summary>
[CollectionDefinition(Name)]
public sealed class TorchTrainingCollection
{
    public const string Name = "Torch training";
}
