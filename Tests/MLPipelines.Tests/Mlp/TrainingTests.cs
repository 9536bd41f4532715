using MLPipelines.Mlp;
using MLPipelines.Mlp.Kernels;

namespace MLPipelines.Tests.Mlp;

public sealed class TrainingTests
{
    /// <summary>Gaussian blobs, one per class, centres ±<paramref name="separation"/> on alternating axes.</summary>
    internal static MlpDataset Blobs(int n, int d, int classes, double separation, int seed, bool flipLabels = false)
    {
        var rng = new Random(seed);
        var x = new float[n * d];
        var y = new int[n];
        for (int r = 0; r < n; r++)
        {
            int c = r % classes;
            y[r] = flipLabels ? (classes - 1 - c) : c;
            for (int j = 0; j < d; j++)
            {
                double centre = j % classes == c ? separation : 0;
                double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                x[(r * d) + j] = (float)(centre + g);
            }
        }

        return new MlpDataset(x, y, d);
    }

    [Fact]
    public void SameSeedGivesIdenticalWeightsAndDifferentSeedsDiffer()
    {
        MlpDataset data = Blobs(300, 12, 2, 1.0, 5);
        var arch = new MlpArchitecture { InputSize = 12, HiddenSizes = [16, 8], HiddenActivation = Activation.Relu };
        float[] Run(int seed, OptimizerKind opt)
        {
            var s = new MlpTrainingSettings { Epochs = 3, BatchSize = 16, Dropout = 0.2, Seed = seed, Optimizer = opt, LearningRate = 0.05, L2 = 1e-3 };
            MlpNetwork net = new MlpEngine(arch, s).Train(data).Network;
            return [.. net.Layers.SelectMany(l => l.Weights.Concat(l.Bias))];
        }

        foreach (OptimizerKind opt in Enum.GetValues<OptimizerKind>())
        {
            float[] a = Run(42, opt), b = Run(42, opt), c = Run(43, opt);
            Assert.Equal(a, b); // bitwise: float equality of every element
            Assert.NotEqual(a, c);
        }
    }

    [Fact]
    public void EarlyStoppingStopsAndRestoresBestWeights()
    {
        // Validation labels are the training labels flipped: the better the fit, the worse the validation loss.
        MlpDataset train = Blobs(400, 8, 2, 1.5, 1);
        MlpDataset validation = Blobs(200, 8, 2, 1.5, 2, flipLabels: true);
        var arch = new MlpArchitecture { InputSize = 8, HiddenSizes = [8] };
        var s = new MlpTrainingSettings { Epochs = 40, EarlyStoppingPatience = 3, LearningRate = 0.05, BatchSize = 20 };
        var seen = new List<EpochRecord>();
        MlpTrainingResult result = new MlpEngine(arch, s).Train(train, validation, new SyncProgress(seen));

        TrainingHistory h = result.History;
        Assert.True(h.StoppedEarly);
        Assert.Equal(h.BestEpoch + 3, h.Epochs.Count);
        Assert.Equal(h.Epochs.Count, seen.Count);
        double bestLoss = h.Epochs.Min(e => e.ValidationLoss!.Value);
        Assert.Equal(bestLoss, h.Epochs[h.BestEpoch - 1].ValidationLoss!.Value);
        Assert.True(h.Epochs[^1].ValidationLoss > bestLoss);
        (double restored, _) = MlpEngine.Evaluate(result.Network, validation);
        Assert.Equal(bestLoss, restored, 9);
    }

    [Fact]
    public void EarlyStoppingNeedsValidationSet()
    {
        var arch = new MlpArchitecture { InputSize = 4 };
        var s = new MlpTrainingSettings { EarlyStoppingPatience = 2 };
        var ex = Assert.Throws<ArgumentException>(() => new MlpEngine(arch, s).Train(Blobs(10, 4, 2, 1, 1)));
        Assert.Equal("validation", ex.ParamName);
    }

    [Fact]
    public void LearningRateSchedulesFollowTheirFormulas()
    {
        var step = new MlpTrainingSettings { LearningRate = 0.1, Schedule = LearningRateSchedule.Step, StepSize = 10, Gamma = 0.1 };
        Assert.Equal(0.1, step.LearningRateAt(0), 12);
        Assert.Equal(0.1, step.LearningRateAt(9), 12);
        Assert.Equal(0.01, step.LearningRateAt(10), 12);
        Assert.Equal(0.001, step.LearningRateAt(25), 12);

        var cosine = new MlpTrainingSettings { LearningRate = 0.2, Schedule = LearningRateSchedule.Cosine, Epochs = 10 };
        Assert.Equal(0.2, cosine.LearningRateAt(0), 12);
        Assert.Equal(0.1, cosine.LearningRateAt(5), 12);
        Assert.Equal(0.2 * 0.5 * (1 + Math.Cos(Math.PI * 0.3)), cosine.LearningRateAt(3), 12);

        var constant = new MlpTrainingSettings { LearningRate = 0.3 };
        Assert.Equal(0.3, constant.LearningRateAt(17));

        // The history records the rate each epoch used.
        var s = new MlpTrainingSettings { Epochs = 4, LearningRate = 0.1, Schedule = LearningRateSchedule.Step, StepSize = 2, Gamma = 0.5 };
        TrainingHistory h = new MlpEngine(new MlpArchitecture { InputSize = 3 }, s).Train(Blobs(20, 3, 2, 1, 3)).History;
        Assert.Equal([0.1, 0.1, 0.05, 0.05], h.Epochs.Select(e => e.LearningRate));
    }

    [Fact]
    public void AdamSolvesXor()
    {
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
        int[] y = [0, 1, 1, 0];
        var data = new MlpDataset(x, y, 2);
        var arch = new MlpArchitecture { InputSize = 2, HiddenSizes = [8], HiddenActivation = Activation.Tanh };
        var s = new MlpTrainingSettings { Epochs = 400, BatchSize = 4, Optimizer = OptimizerKind.Adam, LearningRate = 0.05, Seed = 3 };
        MlpTrainingResult r = new MlpEngine(arch, s).Train(data);
        Assert.True(r.History.Epochs[^1].TrainLoss < 0.05, $"final loss {r.History.Epochs[^1].TrainLoss}");
        Assert.True(r.History.Epochs[^1].TrainLoss < r.History.Epochs[0].TrainLoss / 10);
        float[] p = r.Network.PredictProbabilitiesBatch(x, 4);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(y[i], p[i] > 0.5f ? 1 : 0);
        }
    }

    [Theory]
    [InlineData(Activation.Sigmoid, OutputKind.SigmoidBinary, OptimizerKind.Sgd, false)]
    [InlineData(Activation.Relu, OutputKind.SoftmaxMulticlass, OptimizerKind.Momentum, true)]
    [InlineData(Activation.Tanh, OutputKind.SoftmaxMulticlass, OptimizerKind.Adam, false)]
    public void LearnsSeparableBlobs(Activation act, OutputKind output, OptimizerKind opt, bool nesterov)
    {
        int classes = output == OutputKind.SigmoidBinary ? 2 : 4;
        MlpDataset train = Blobs(1200, 20, classes, 2.0, 11);
        MlpDataset test = Blobs(400, 20, classes, 2.0, 12);
        var arch = new MlpArchitecture { InputSize = 20, HiddenSizes = [16], HiddenActivation = act, Output = output, ClassCount = classes };
        var s = new MlpTrainingSettings
        {
            Epochs = 15, Optimizer = opt, Nesterov = nesterov, LearningRate = opt == OptimizerKind.Adam ? 0.01 : 0.05,
            Dropout = 0.1, Schedule = LearningRateSchedule.Cosine, L2 = 1e-4,
        };
        MlpTrainingResult r = new MlpEngine(arch, s).Train(train, test);
        Assert.True(r.History.Epochs[^1].ValidationAccuracy > 0.95, $"validation accuracy {r.History.Epochs[^1].ValidationAccuracy}");
        (double _, double accuracy) = MlpEngine.Evaluate(r.Network, test);
        Assert.True(accuracy > 0.95);
        // Throughput is measured by the mlp-quick benchmark; here only its definition: rows x epochs over the pass time,
        // which is part of the whole loop's time, so samples/s x TrainSeconds covers at least every row of every epoch.
        Assert.True(r.SamplesPerSecond * r.TrainSeconds >= (double)train.Count * r.History.Epochs.Count * (1 - 1e-9),
            $"{r.SamplesPerSecond} samples/s x {r.TrainSeconds} s < {train.Count} rows x {r.History.Epochs.Count} epochs");

        // Single-row and batch prediction agree; softmax rows sum to 1.
        int k = arch.OutputSize;
        float[] batch = r.Network.PredictProbabilitiesBatch(test.Features, test.Count);
        float[] one = new float[k];
        for (int row = 0; row < 10; row++)
        {
            r.Network.PredictProbabilities(test.Features.AsSpan(row * 20, 20), one);
            for (int j = 0; j < k; j++)
            {
                Assert.Equal(batch[(row * k) + j], one[j], 6);
            }

            if (k > 1)
            {
                Assert.Equal(1f, one.Sum(), 5);
            }
        }
    }

    [Fact]
    public void TrainingStepAllocatesNothing()
    {
        var arch = new MlpArchitecture { InputSize = 30, HiddenSizes = [20, 10], Output = OutputKind.SoftmaxMulticlass, ClassCount = 3 };
        MlpDataset data = Blobs(32, 30, 3, 1, 9);
        DenseLayer[] layers = MlpEngine.InitialLayers(arch, new Xoshiro256(1));
        var ws = new MlpWorkspace(arch, 32, true);
        var rng = new Xoshiro256(2);
        void Step()
        {
            ws.Forward(layers, data.Features, 32, 0.3, rng);
            ws.OutputLossAndDelta(data.Labels, 32, 1f / 32, out _);
            ws.Backward(layers, data.Features, 32, 0.01f, 1e-4f);
            ws.Backward(layers, data.Features, 32, float.NaN, 1e-4f);
        }

        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Step();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ValidationNamesTheProblem()
    {
        var nan = new float[] { 1, 2, 3, float.NaN };
        var ex = Assert.Throws<ArgumentException>(() => new MlpDataset(nan, [0, 1], 2));
        Assert.Contains("Row 1", ex.Message);
        Assert.Throws<ArgumentException>(() => new MlpDataset(new float[5], [0, 1], 2));
        Assert.Throws<ArgumentException>(() => new MlpDataset(new float[4], [0, -1], 2));

        Assert.Equal("BatchSize", Assert.Throws<ArgumentException>(() => new MlpTrainingSettings { BatchSize = 0 }.Validate()).ParamName);
        Assert.Equal("Dropout", Assert.Throws<ArgumentException>(() => new MlpTrainingSettings { Dropout = 1 }.Validate()).ParamName);
        Assert.Equal("HiddenSizes", Assert.Throws<ArgumentException>(() => new MlpArchitecture { InputSize = 3, HiddenSizes = [4, 0] }.Validate()).ParamName);
        Assert.Equal("InputSize", Assert.Throws<ArgumentException>(() => new MlpArchitecture().Validate()).ParamName);

        var engine = new MlpEngine(new MlpArchitecture { InputSize = 2 }, new MlpTrainingSettings());
        var bad = Assert.Throws<ArgumentException>(() => engine.Train(new MlpDataset(new float[4], [0, 2], 2)));
        Assert.Contains("Row 1", bad.Message);
    }

    /// <summary>IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(List<EpochRecord> sink) : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value) => sink.Add(value);
    }
}
