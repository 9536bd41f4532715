namespace MLPipelines.Tests.Torch.Training;

/// <summary>Serialises the training tests: they set libtorch's process-wide thread count.</summary>
[CollectionDefinition(Name)]
public sealed class TorchTrainingCollection
{
    public const string Name = "Torch training";
}
