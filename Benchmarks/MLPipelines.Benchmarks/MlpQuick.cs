using System.Diagnostics;
using MLPipelines.Mlp;

namespace MLPipelines.Benchmarks;

/// <summary>`mlp-quick`: times a few epochs with a Stopwatch (no BenchmarkDotNet), for quick checks.</summary>
internal static class MlpQuick
{
    public static int Run(string[] args)
    {
        int epochs = args.Length > 1 && int.TryParse(args[1], out int e) ? e : 5;
        bool engineOnly = args.Contains("engine-only");
        if (int.TryParse(Environment.GetEnvironmentVariable("MLP_THREADS"), out int threads))
        {
            MLPipelines.Mlp.Kernels.Gemm.MaxThreads = threads;
        }

        MlpDataset data = MlpWorkload.Create();
        Console.WriteLine($"784-64-1 sigmoid, SGD, batch {MlpWorkload.Batch}, n={MlpWorkload.Count}; {MlpWorkload.FlopsPerSample:N0} FLOP/sample; GEMM path {MLPipelines.Mlp.Kernels.Gemm.ActivePath}");

        // Warm-up (JIT, tiering), then the timed runs; report the best epoch and the overall mean.
        new MlpEngine(MlpWorkload.Architecture, MlpWorkload.Settings(3)).Train(data);
        var sw = Stopwatch.StartNew();
        TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
        MlpTrainingResult r = new MlpEngine(MlpWorkload.Architecture, MlpWorkload.Settings(epochs)).Train(data);
        double seconds = sw.Elapsed.TotalSeconds;
        double cpuSeconds = (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;
        double mean = epochs * (double)MlpWorkload.Count / seconds;
        double best = MlpWorkload.Count / r.History.Epochs.Min(x => x.Seconds);
        Report("engine (mean)", mean);
        Report("engine (best epoch)", best);
        Console.WriteLine($"  CPU time / wall time = {cpuSeconds / seconds:F2} (GEMM threads: up to {MLPipelines.Mlp.Kernels.Gemm.MaxThreads}; a busy machine lowers it)");
        Console.WriteLine($"  engine final train loss {r.History.Epochs[^1].TrainLoss:F4}, accuracy {r.History.Epochs[^1].TrainAccuracy:P1}");

        if (engineOnly)
        {
            return 0;
        }

        var naive = new NaiveMlp(MlpWorkload.Dimension, MlpWorkload.Hidden, 1);
        int[] order = Enumerable.Range(0, MlpWorkload.Count).ToArray();
        var rng = new Random(1);
        naive.TrainEpoch(data.Features, data.Labels, MlpWorkload.Count, MlpWorkload.Batch, 0.05f, order, rng);
        sw.Restart();
        double loss = naive.TrainEpoch(data.Features, data.Labels, MlpWorkload.Count, MlpWorkload.Batch, 0.05f, order, rng);
        Report("naive baseline", MlpWorkload.Count / sw.Elapsed.TotalSeconds);
        Console.WriteLine($"  naive train loss (2nd epoch) {loss:F4}");
        return 0;
    }

    /// <summary>`mlp-kernels`: GFLOP/s of the two products that dominate a 784-64-1 batch of 32.</summary>
    public static int Kernels()
    {
        var a = new float[32 * 784];
        var w = new float[784 * 64];
        var z = new float[32 * 64];
        var rng = new Random(1);
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (float)rng.NextDouble();
        }

        for (int i = 0; i < w.Length; i++)
        {
            w[i] = (float)rng.NextDouble() * 1e-3f;
        }

        for (int i = 0; i < z.Length; i++)
        {
            z[i] = (float)rng.NextDouble() * 1e-3f;
        }

        const int Reps = 20000;
        double flops = 2.0 * 32 * 784 * 64 * Reps;
        for (int round = 0; round < 3; round++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < Reps; i++)
            {
                MLPipelines.Mlp.Kernels.Gemm.Multiply(false, false, 32, 64, 784, 1f, a, 784, w, 64, 0f, z, 64);
            }

            double fwd = flops / sw.Elapsed.TotalSeconds / 1e9;
            sw.Restart();
            for (int i = 0; i < Reps; i++)
            {
                MLPipelines.Mlp.Kernels.Gemm.Multiply(true, false, 784, 64, 32, -1e-6f, a, 784, z, 64, 1f, w, 64);
            }

            double tn = flops / sw.Elapsed.TotalSeconds / 1e9;
            Console.WriteLine($"forward NN 32x784x64: {fwd,6:F1} GFLOP/s   weight-gradient TN 784x32x64 (fused update): {tn,6:F1} GFLOP/s");
        }

        return 0;
    }

    private static void Report(string name, double samplesPerSecond)
        => Console.WriteLine($"{name,-22} {samplesPerSecond,12:N0} samples/s  {samplesPerSecond * MlpWorkload.FlopsPerSample / 1e9,7:F1} GFLOP/s");
}
