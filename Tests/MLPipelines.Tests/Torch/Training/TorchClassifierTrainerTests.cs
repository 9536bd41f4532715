using MLPipelines.Torch.Training;
using TorchSharp;
using static MLPipelines.Tests.Torch.Training.TrainingFixtures;

namespace MLPipelines.Tests.Torch.Training;

[Collection(TorchTrainingCollection.Name)]
public sealed class TorchClassifierTrainerTests
{
    private static TorchTrainingSettings Fast(int seed = 7) => new()
    {
        Optimizer = TorchOptimizerKind.Adam,
        LearningRate = 0.01,
        Epochs = 4,
        BatchSize = 16,
        Seed = seed,
        Device = "cpu",
        Threads = 1,
    };

    [TorchFact]
    public void LabelSmoothing_FirstStepLoss_MatchesAScalarReference()
    {
        // One batch holding every row: the reported training loss is the smoothed cross-entropy of the initial weights.
        const double e = 0.2;
        var data = Blobs(40, 6, 4, seed: 11);
        float[][]? logits = null;
        var options = Fast();
        options.Epochs = 1;
        options.BatchSize = 40;
        options.LabelSmoothing = e;
        var result = new TorchClassifierTrainer(() =>
        {
            var net = SmallNet(6, 8, 4);
            using var noGrad = torch.no_grad();
            using var x = torch.tensor(data.Features, [40, 6]);
            using var z = net.call(x);
            logits = Enumerable.Range(0, 40).Select(i => z[i].data<float>().ToArray()).ToArray();
            return net;
        }, options).Train(data, classCount: 4);

        double sum = 0;
        for (int i = 0; i < 40; i++)
        {
            double max = logits![i].Max(), lse = max + Math.Log(logits[i].Sum(v => Math.Exp(v - max)));
            double nll = lse - logits[i][data.Labels[i]];
            double uniform = logits[i].Average(v => lse - v);
            sum += (1 - e) * nll + e * uniform;
        }
        Assert.Equal(sum / 40, result.History.Epochs[0].TrainLoss, 1e-5);
        Assert.Throws<ArgumentException>(() => new TorchClassifierTrainer(() => SmallNet(6, 8, 4), new TorchTrainingSettings { LabelSmoothing = 1 }));
    }

    [TorchFact]
    public void SameSeed_GivesIdenticalWeightsAndHistory_DifferentSeedDiffers()
    {
        var data = Blobs(120, 6, 3, seed: 1);
        var validation = Blobs(30, 6, 3, seed: 2);
        TorchTrainingResult Run(int seed)
            => new TorchClassifierTrainer(() => SmallNet(6, 12, 3), Fast(seed)).Train(data, validation);
        var first = Run(7);
        var second = Run(7);
        var other = Run(8);
        Assert.True(SameWeights(first.Module, second.Module));
        Assert.Equal(first.History.Epochs.Select(e => (e.TrainLoss, e.TrainAccuracy, e.ValidationLoss, e.LearningRate)),
            second.History.Epochs.Select(e => (e.TrainLoss, e.TrainAccuracy, e.ValidationLoss, e.LearningRate)));
        Assert.False(SameWeights(first.Module, other.Module));
        Assert.NotEqual(first.History.Epochs[^1].TrainLoss, other.History.Epochs[^1].TrainLoss);
        Assert.True(first.History.Epochs[^1].TrainAccuracy > 0.8, $"accuracy {first.History.Epochs[^1].TrainAccuracy}");
        foreach (var r in new[] { first, second, other })
            r.Module.Dispose();
    }

    [TorchFact]
    public void EarlyStopping_StopsWhenValidationLossRises_AndRestoresTheBestWeights()
    {
        var train = Noise(64, 10, 2, seed: 3);
        var validation = Noise(64, 10, 2, seed: 4);
        var options = Fast();
        options.Epochs = 40;
        options.LearningRate = 0.05;
        options.EarlyStoppingPatience = 3;
        var result = new TorchClassifierTrainer(() => SmallNet(10, 64, 2), options).Train(train, validation);
        using var module = result.Module;
        var history = result.History;
        Assert.True(history.StoppedEarly);
        Assert.True(history.Epochs.Count < 40);
        var bestLoss = history.Epochs.Min(e => e.ValidationLoss!.Value);
        Assert.Equal(bestLoss, history.Epochs[history.BestEpoch - 1].ValidationLoss);
        Assert.Equal(history.BestEpoch + 3, history.Epochs.Count);
        var (loss, _) = TorchClassifierTrainer.Evaluate(module, validation, options.BatchSize);
        Assert.Equal(bestLoss, loss, 1e-6);
        Assert.True(history.Epochs[^1].ValidationLoss > bestLoss);
    }

    [TorchFact]
    public void EarlyStopping_WithoutValidation_Throws()
    {
        var options = Fast();
        options.EarlyStoppingPatience = 2;
        var e = Assert.Throws<ArgumentException>(() => new TorchClassifierTrainer(() => SmallNet(4, 4, 2), options).Train(Blobs(20, 4, 2, 1)));
        Assert.Equal("EarlyStoppingPatience", e.ParamName);
    }

    [TorchFact]
    public void StepAndCosineSchedules_GiveTheExpectedLearningRates()
    {
        var data = Blobs(40, 4, 2, seed: 1);
        var options = Fast();
        options.Epochs = 6;
        options.LearningRate = 0.1;
        options.Optimizer = TorchOptimizerKind.Sgd;
        options.Schedule = TorchLearningRateSchedule.Step(2, 0.5);
        var step = new TorchClassifierTrainer(() => SmallNet(4, 4, 2), options).Train(data);
        step.Module.Dispose();
        double[] expected = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025];
        Assert.Equal(expected, step.History.Epochs.Select(e => e.LearningRate), (x, y) => Math.Abs(x - y) < 1e-12);

        options.Schedule = TorchLearningRateSchedule.Cosine(0.001);
        var cosine = new TorchClassifierTrainer(() => SmallNet(4, 4, 2), options).Train(data);
        cosine.Module.Dispose();
        for (int e = 1; e <= 6; e++)
        {
            double want = 0.001 + (0.1 - 0.001) * (1 + Math.Cos(Math.PI * (e - 1) / 6)) / 2;
            Assert.Equal(want, cosine.History.Epochs[e - 1].LearningRate, 1e-9);
        }
    }

    [TorchFact]
    public void ReduceOnPlateau_DecaysWhenTheValidationLossStopsImproving()
    {
        var train = Noise(64, 10, 2, seed: 3);
        var validation = Noise(64, 10, 2, seed: 4);
        var options = Fast();
        options.Epochs = 10;
        options.LearningRate = 0.05;
        options.Schedule = TorchLearningRateSchedule.ReduceOnPlateau(patience: 1, factor: 0.5);
        var result = new TorchClassifierTrainer(() => SmallNet(10, 64, 2), options).Train(train, validation);
        result.Module.Dispose();
        // Replays PyTorch's rule (mode min, relative threshold 1e-4, no cooldown) on the recorded losses.
        var epochs = result.History.Epochs;
        double lr = 0.05, best = double.PositiveInfinity;
        int bad = 0;
        for (int i = 0; i < epochs.Count; i++)
        {
            Assert.Equal(lr, epochs[i].LearningRate, 1e-12);
            double v = epochs[i].ValidationLoss!.Value;
            if (v < best * (1 - 1e-4)) { best = v; bad = 0; }
            else if (++bad > 1) { lr *= 0.5; bad = 0; }
        }
        Assert.True(epochs[^1].LearningRate < 0.05, "the rising validation loss should have reduced the learning rate");
    }

    [TorchFact]
    public void CheckpointResume_AfterCancellation_MatchesAnUninterruptedRun()
    {
        // SGD (Nesterov momentum buffers) and AdamW (moments and step counts) both restore their state.
        ResumeMatches(TorchOptimizerKind.Sgd);
        ResumeMatches(TorchOptimizerKind.AdamW);
    }

    private static void ResumeMatches(TorchOptimizerKind optimizer)
    {
        var train = Blobs(90, 5, 3, seed: 1);
        var validation = Blobs(30, 5, 3, seed: 2);
        var directory = Directory.CreateTempSubdirectory("mlp-torch-ckpt-");
        try
        {
            TorchTrainingSettings Options(string? path, bool resume, IProgress<EpochRecord>? progress = null)
            {
                var o = Fast();
                o.Epochs = 5;
                o.Optimizer = optimizer;
                o.LearningRate = 0.05;
                o.Schedule = TorchLearningRateSchedule.Step(2, 0.5);
                o.EarlyStoppingPatience = 10;
                o.CheckpointPath = path;
                o.Resume = resume;
                o.Progress = progress;
                return o;
            }

            var full = new TorchClassifierTrainer(() => SmallNet(5, 8, 3), Options(null, false)).Train(train, validation);

            var path = Path.Combine(directory.FullName, "run.ckpt");
            using var cts = new CancellationTokenSource();
            var stopAfter2 = new ListProgress<EpochRecord>(r => { if (r.Epoch == 2) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(
                () => new TorchClassifierTrainer(() => SmallNet(5, 8, 3), Options(path, true, stopAfter2)).Train(train, validation, cts.Token));
            Assert.True(File.Exists(path));
            Assert.Empty(Directory.GetFiles(directory.FullName, "*.tmp"));

            var resumed = new TorchClassifierTrainer(() => SmallNet(5, 8, 3), Options(path, true)).Train(train, validation);
            Assert.Equal(2, resumed.History.ResumedAfterEpoch);
            Assert.Equal(full.History.Epochs.Count, resumed.History.Epochs.Count);
            Assert.Equal(full.History.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.ValidationLoss, e.LearningRate)),
                resumed.History.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.ValidationLoss, e.LearningRate)));
            Assert.Equal(full.History.BestEpoch, resumed.History.BestEpoch);
            Assert.True(SameWeights(full.Module, resumed.Module), "resumed weights differ from the uninterrupted run");
            full.Module.Dispose();
            resumed.Module.Dispose();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [TorchFact]
    public void CudaRequest_FallsBackToCpu_WithTheMessage()
    {
        Skip.If(torch.cuda.is_available(), "CUDA is available here: there is no fallback to test");
        var log = new ListProgress<string>();
        var options = Fast();
        options.Epochs = 1;
        options.Device = "cuda";
        options.Log = log;
        var result = new TorchClassifierTrainer(() => SmallNet(4, 4, 2), options).Train(Blobs(20, 4, 2, 1));
        result.Module.Dispose();
        Assert.Equal("cpu", result.Device, ignoreCase: true);
        Assert.Contains(log.Items, m => m.Contains("CUDA is not available") && m.Contains("using CPU"));
    }

    [TorchFact]
    public void ImageRows_ReachTheModuleAsNchw_AndAugmentationsRun()
    {
        var data = Blobs(32, 2 * 6 * 6, 2, seed: 5, imageShape: [2, 6, 6]);
        long[]? seen = null;
        var options = Fast();
        options.Epochs = 2;
        options.Augmentation = [new RandomCropWithPadding(1), new SmallRotation(5), new ColorJitter(0.1, 0.1), new RandomResizedCrop(0.8)];
        var result = new TorchClassifierTrainer(() =>
            {
                var net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(72, 2));
                return new Probe(net, s => seen ??= s);
            }, options).Train(data);
        result.Module.Dispose();
        Assert.Equal(new long[] { 16, 2, 6, 6 }, seen);
    }

    [Fact]
    public void InvalidOptions_AreRejectedOnce_NamingTheOption()
    {
        static string? Param(Action<TorchTrainingSettings> change)
        {
            var o = new TorchTrainingSettings();
            change(o);
            return Assert.Throws<ArgumentException>(() => new TorchClassifierTrainer(() => null!, o)).ParamName;
        }
        Assert.Equal("LearningRate", Param(o => o.LearningRate = 0));
        Assert.Equal("Epochs", Param(o => o.Epochs = 0));
        Assert.Equal("BatchSize", Param(o => o.BatchSize = -1));
        Assert.Equal("Momentum", Param(o => o.Momentum = 1));
        Assert.Equal("Schedule", Param(o => o.Schedule = TorchLearningRateSchedule.Step(0)));
        Assert.Equal("Device", Param(o => o.Device = "gpu"));
        Assert.Equal("Resume", Param(o => o.Resume = true));
        Assert.Equal("EarlyStoppingPatience", Param(o => o.EarlyStoppingPatience = -1));
    }

    private sealed class Probe : torch.nn.Module<torch.Tensor, torch.Tensor>
    {
        private readonly torch.nn.Module<torch.Tensor, torch.Tensor> inner;
        private readonly Action<long[]> onShape;

        public Probe(torch.nn.Module<torch.Tensor, torch.Tensor> inner, Action<long[]> onShape) : base("probe")
        {
            this.inner = inner;
            this.onShape = onShape;
            RegisterComponents();
        }

        public override torch.Tensor forward(torch.Tensor input)
        {
            onShape(input.shape);
            return inner.call(input);
        }
    }
}
