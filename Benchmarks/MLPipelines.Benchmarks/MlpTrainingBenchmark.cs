using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using MLPipelines.Mlp;

namespace MLPipelines.Benchmarks;

/// <summary>Synthetic 784-feature binary data, and the cost of the 784-64-1 network.</summary>
internal static class MlpWorkload
{
    public const int Count = 10_000;
    public const int Dimension = 784;
    public const int Hidden = 64;
    public const int Batch = 32;

    /// <summary>
    /// Matrix-product FLOPs per training sample of d-h-1: forward 2(dh + h), weight gradients 2(dh + h),
    /// input gradient of the hidden layer 2h (none is needed for the input layer):
    /// 2·(784·64 + 64)·2 + 2·64 = 201,088 for 784-64-1. Elementwise work (activations, bias, update) is not counted.
    /// </summary>
    public const double FlopsPerSample = (2.0 * ((Dimension * Hidden) + Hidden) * 2) + (2.0 * Hidden);

    public static MlpDataset Create(int seed = 7)
    {
        var rng = new Random(seed);
        var x = new float[Count * Dimension];
        var y = new int[Count];
        var direction = new float[Dimension];
        for (int j = 0; j < Dimension; j++)
        {
            direction[j] = (float)((rng.NextDouble() * 2) - 1);
        }

        for (int r = 0; r < Count; r++)
        {
            double dot = 0;
            for (int j = 0; j < Dimension; j++)
            {
                float v = (float)rng.NextDouble();
                x[(r * Dimension) + j] = v;
                dot += v * direction[j];
            }

            y[r] = dot > 0 ? 1 : 0;
        }

        return new MlpDataset(x, y, Dimension);
    }

    public static MlpArchitecture Architecture => new() { InputSize = Dimension, HiddenSizes = [Hidden], HiddenActivation = Activation.Sigmoid, Output = OutputKind.SigmoidBinary };

    public static MlpTrainingSettings Settings(int epochs) => new() { Epochs = epochs, BatchSize = Batch, LearningRate = 0.05, Optimizer = OptimizerKind.Sgd, Seed = 1, Shuffle = Environment.GetEnvironmentVariable("MLP_NOSHUFFLE") is null };
}

/// <summary>One training epoch of 784-64-1 (sigmoid, SGD, batch 32) on 10,000 synthetic rows.</summary>
[Config(typeof(ThroughputConfig))]
[MemoryDiagnoser]
public class MlpTrainingBenchmark
{
    private MlpDataset _data = null!;
    private int[] _order = null!;
    private NaiveMlp _naive = null!;
    private Random _rng = null!;

    [GlobalSetup]
    public void Setup()
    {
        _data = MlpWorkload.Create();
        _order = Enumerable.Range(0, MlpWorkload.Count).ToArray();
        _naive = new NaiveMlp(MlpWorkload.Dimension, MlpWorkload.Hidden, 1);
        _rng = new Random(1);
    }

    /// <summary>Straightforward scalar loops.</summary>
    [Benchmark(Baseline = true)]
    public double NaiveEpoch() => _naive.TrainEpoch(_data.Features, _data.Labels, MlpWorkload.Count, MlpWorkload.Batch, 0.05f, _order, _rng);

    /// <summary>The engine, one epoch (includes its one-off set-up: initialisation and buffers).</summary>
    [Benchmark]
    public double EngineEpoch() => new MlpEngine(MlpWorkload.Architecture, MlpWorkload.Settings(1)).Train(_data).History.Epochs[0].TrainLoss;

    /// <summary>The engine over 10 epochs, reported per epoch: its set-up is amortised as in a real training run.</summary>
    [Benchmark(OperationsPerInvoke = 10)]
    public double EngineEpochOfTen() => new MlpEngine(MlpWorkload.Architecture, MlpWorkload.Settings(10)).Train(_data).History.Epochs[^1].TrainLoss;

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig()
        {
            AddColumn(new PerSampleColumn("samples/s", false));
            AddColumn(new PerSampleColumn("GFLOP/s", true));
        }
    }

    /// <summary>Derives samples/s and GFLOP/s from the mean time of one epoch.</summary>
    private sealed class PerSampleColumn(string name, bool gflops) : IColumn
    {
        public string Id => name;
        public string ColumnName => name;
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => gflops ? $"Matrix-product GFLOP/s at {MlpWorkload.FlopsPerSample:N0} FLOP per sample" : "Training samples per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            BenchmarkReport? report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats)
            {
                return "-";
            }

            double samplesPerSecond = MlpWorkload.Count / (stats.Mean * 1e-9);
            return gflops ? (samplesPerSecond * MlpWorkload.FlopsPerSample / 1e9).ToString("F1") : samplesPerSecond.ToString("N0");
        }

        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
