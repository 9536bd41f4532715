namespace MLPipelines.Tests.Torch.Training;

/// <summary>
/// The tests that set or rely on libtorch's process-wide state: its thread count and its global random generator (seeded
/// training, weight initialisation, checkpoint resume). They run one at a time and, with parallelization disabled for the
/// collection, after the parallel tests and alone, so that no other torch test draws from the generator between a seed and
/// the numbers a test expects from it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchTrainingCollection
{
    public const string Name = "Torch training";
}
