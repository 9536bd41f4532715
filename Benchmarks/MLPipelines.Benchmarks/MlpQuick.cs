using System.Diagnostics;
using MLPipelines.Mlp;

namespace MLPipelines.Benchmarks;

/// <summary>
/// Stopwatch timings without BenchmarkDotNet, for quick checks:
/// <c>mlp-quick [epochs] [engine-only]</c> (alias <c>--quick</c>) trains 784-64-1 on 10,000 synthetic rows and prints samples/s and GFLOP/s
/// of the engine and of the naive baseline; <c>mlp-kernels</c> times the two large matrix products; <c>mlp-phases [threads]</c> splits a
/// mini-batch into gather / forward / loss / backward. Environment knobs: MLP_THREADS=1|2 (GEMM threads), MLP_NOSHUFFLE=1 (no per-epoch
/// shuffle, so no row gather), MLP_TWICE=1 (mlp-phases: time a second, cache-warm forward pass).
/// </summary>
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
        if (int.TryParse(Environment.GetEnvironmentVariable("MLP_THREADS"), out int threads))
        {
            MLPipelines.Mlp.Kernels.Gemm.MaxThreads = threads;
        }

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

    /// <summary>`mlp-phases`: where the time of a 784-64-1 mini-batch goes (gather, forward, loss, backward).</summary>
    public static int Phases()
    {
        MlpDataset data = MlpWorkload.Create();
        MlpArchitecture arch = MlpWorkload.Architecture;
        DenseLayer[] layers = MlpEngine.InitialLayers(arch, new MLPipelines.Mlp.Kernels.Xoshiro256(1));
        var ws = new MlpWorkspace(arch, MlpWorkload.Batch, false);
        const int B = MlpWorkload.Batch, D = MlpWorkload.Dimension;
        var xb = new float[B * D];
        var yb = new int[B];
        var order = Enumerable.Range(0, MlpWorkload.Count).ToArray();
        new MLPipelines.Mlp.Kernels.Xoshiro256(3).Shuffle(order);
        var t = new long[4];
        for (int round = 0; round < 4; round++)
        {
            Array.Clear(t);
            int batches = 0;
            for (int start = 0; start + B <= MlpWorkload.Count; start += B, batches++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int r = 0; r < B; r++)
                {
                    data.Features.AsSpan(order[start + r] * D, D).CopyTo(xb.AsSpan(r * D, D));
                    yb[r] = data.Labels[order[start + r]];
                }

                long t1 = Stopwatch.GetTimestamp();
                if (Environment.GetEnvironmentVariable("MLP_TWICE") is not null)
                {
                    ws.Forward(layers, xb, B, 0, null);
                    t1 = Stopwatch.GetTimestamp();
                }

                ws.Forward(layers, xb, B, 0, null);
                long t2 = Stopwatch.GetTimestamp();
                ws.OutputLossAndDelta(yb, B, 1f / B, out _);
                long t3 = Stopwatch.GetTimestamp();
                ws.Backward(layers, xb, B, 0.05f, 0f);
                long t4 = Stopwatch.GetTimestamp();
                t[0] += t1 - t0;
                t[1] += t2 - t1;
                t[2] += t3 - t2;
                t[3] += t4 - t3;
            }

            double us(long ticks) => ticks * 1e6 / Stopwatch.Frequency / batches;
            var z = new float[B * 64];
            long g0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < batches; i++)
            {
                MLPipelines.Mlp.Kernels.Gemm.Multiply(false, false, B, 64, D, 1f, xb, D, layers[0].Weights, 64, 0f, z, 64, layers[0].Bias);
            }

            long g1 = Stopwatch.GetTimestamp();
            for (int i = 0; i < batches; i++)
            {
                MLPipelines.Mlp.Kernels.NeuralOps.Activate(Activation.Sigmoid, z);
            }

            long g2 = Stopwatch.GetTimestamp();
            Console.WriteLine($"  alone: layer-1 product {us(g1 - g0):F1} us, sigmoid {us(g2 - g1):F1} us");
            Console.WriteLine($"per batch: gather {us(t[0]):F1} us, forward {us(t[1]):F1} us, loss {us(t[2]):F1} us, backward {us(t[3]):F1} us; total {us(t.Sum()):F1} us");
        }

        return 0;
    }

    private static void Report(string name, double samplesPerSecond)
        => Console.WriteLine($"{name,-22} {samplesPerSecond,12:N0} samples/s  {samplesPerSecond * MlpWorkload.FlopsPerSample / 1e9,7:F1} GFLOP/s");
}
