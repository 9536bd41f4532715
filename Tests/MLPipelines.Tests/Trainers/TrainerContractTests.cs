using Microsoft.ML;
using MLPipelines.Knn;
using MLPipelines.Mlp;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Knn;
using MLPipelines.Trainers.Mlp;
using MLPipelines.Trainers.Torch;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Trainers;

/// <summary>
/// The trainer contracts: each trainer's plain-argument catalog overload and its options object read ONE set of defaults,
/// and every trainer keeps its own copy of the options it is given (the caller's object is never changed, and changing it
/// later does not change the trainer).
/// </summary>
public sealed class TrainerContractTests
{
    private readonly MLContext _ml = new(seed: 1);

    [Fact]
    public void Plain_argument_overloads_and_options_objects_share_one_set_of_defaults()
    {
        Assert.Equal(ObjectDump.Of(new MlpOptions()), ObjectDump.Of(_ml.BinaryClassification.Trainers.Mlp().Options));
        Assert.Equal(ObjectDump.Of(new MlpMulticlassOptions()), ObjectDump.Of(_ml.MulticlassClassification.Trainers.Mlp().Options));
        Assert.Equal(ObjectDump.Of(new KnnOptions()), ObjectDump.Of(_ml.MulticlassClassification.Trainers.Knn().Options));
        Func<nn.Module<Tensor, Tensor>> factory = () => nn.Linear(4, 2);
        Assert.Equal(ObjectDump.Of(new TorchTrainerOptions()), ObjectDump.Of(_ml.BinaryClassification.Trainers.TorchSharp(factory, ColumnNames.Label).Options));
        Assert.Equal(ObjectDump.Of(new TorchTrainerOptions()), ObjectDump.Of(_ml.MulticlassClassification.Trainers.TorchSharp(factory, ColumnNames.Label).Options));

        // The documented values, so a change of a default is a deliberate change of this test.
        var multiclass = new MlpMulticlassOptions();
        Assert.Equal([128, 64], multiclass.HiddenLayers);
        Assert.Equal((Activation.Relu, OptimizerKind.Adam, 0.001, 64), (multiclass.HiddenActivation, multiclass.Optimizer, multiclass.LearningRate, multiclass.BatchSize));
        var binary = new MlpOptions();
        Assert.Equal([64], binary.HiddenLayers);
        Assert.Equal((Activation.Sigmoid, OptimizerKind.Sgd, 0.1, 32), (binary.HiddenActivation, binary.Optimizer, binary.LearningRate, binary.BatchSize));
    }

    [Fact]
    public void Trainers_copy_the_options_they_are_given()
    {
        var mlp = new MlpMulticlassOptions { Epochs = 3 };
        var mlpTrainer = _ml.MulticlassClassification.Trainers.Mlp(mlp);
        mlp.Epochs = 99;
        mlp.HiddenLayers[0] = 7;
        Assert.Equal(3, mlpTrainer.Options.Epochs);
        Assert.Equal(128, mlpTrainer.Options.HiddenLayers[0]);
        Assert.IsType<MlpMulticlassOptions>(mlpTrainer.Options);

        var knn = new KnnOptions { K = 3 };
        var knnTrainer = _ml.MulticlassClassification.Trainers.Knn(knn);
        knn.K = 9;
        Assert.Equal(3, knnTrainer.Options.K);

        var torch = new TorchTrainerOptions { Epochs = 2 };
        var torchTrainer = _ml.MulticlassClassification.Trainers.TorchSharp(() => nn.Linear(4, 2), torch);
        torch.Epochs = 40;
        Assert.Equal(2, torchTrainer.Options.Epochs);
    }

    [Fact]
    public void Fitting_does_not_change_the_callers_options()
    {
        var rows = Enumerable.Range(0, 40).Select(i => new Row { Label = i % 2 == 0, Features = [i % 2, 1 - (i % 2), 0.5f, (i % 5) / 5f] }).ToList();
        var options = new MlpOptions { Epochs = 2, HiddenLayers = [4], EarlyStoppingPatience = 1, ValidationFraction = 0.25 };
        var before = ObjectDump.Of(options);
        _ml.BinaryClassification.Trainers.Mlp(options).Fit(_ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(before, ObjectDump.Of(options));
    }

    private sealed class Row
    {
        public bool Label { get; set; }

        [Microsoft.ML.Data.VectorType(4)]
        public float[] Features { get; set; } = [];
    }
}
