using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using MLPipelines.Torch.Export;
using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Benchmarks;

/// <summary>
/// Stopwatch timings of the TorchSharp workloads, printed as <c>RESULT impl=torchsharp ...</c> lines in the same format
/// as <c>Benchmarks/python/torch_reference.py</c> (<c>impl=pytorch</c>), so the two can be run back to back and compared:
/// <list type="bullet">
/// <item><c>torch-quick [mlp|cnn|all] [epochs]</c>: training images/s at batch 64 through <see cref="TorchClassifierTrainer"/>
/// (median epoch after the first) and through a bare loop on one fixed batch (median of rounds).</item>
/// <item><c>onnx-quick</c>: inference images/s of the exported Bn4Dropout CNN in ONNX Runtime and of the TorchSharp eval
/// forward pass (no_grad) on the same batch, at batch 64 and 1.</item>
/// <item><c>torch-matmul [n...]</c>: GFLOP/s of libtorch's float n x n matrix product (default 512; the first sign of a
/// libtorch build without a fast BLAS or of a thread setting gone wrong).</item>
/// </list>
/// Environment knobs: TORCH_THREADS (intra-op threads of libtorch and of ONNX Runtime, default 2), TORCH_INTEROP_THREADS.
/// </summary>
internal static class TorchQuick
{
    public static int Train(string[] args)
    {
        string which = args.Length > 1 ? args[1] : "all";
        int epochs = args.Length > 2 && int.TryParse(args[2], out int e) ? Math.Max(e, 2) : 0;
        Console.WriteLine($"# {TorchWorkload.ConfigureThreads()}; load {Load()}");
        foreach (string net in which == "all" ? new[] { "mlp", "cnn" } : [which])
        {
            TrainOne(net, epochs > 0 ? epochs : TorchWorkload.IsCnn(net) ? 4 : 6);
        }

        return 0;
    }

    private static void TrainOne(string net, int epochs)
    {
        TorchDataset data = TorchWorkload.Data(net);
        var cpuAtEpochEnd = new CpuAtEpochEnd();
        TorchTrainingSettings options = TorchWorkload.Options(epochs);
        options.Progress = cpuAtEpochEnd;
        var trainer = new TorchClassifierTrainer(() => TorchWorkload.Create(net), options);
        TorchTrainingResult result = trainer.Train(data, classCount: TorchWorkload.Classes);
        result.Module.Dispose();
        double[] perEpoch = result.History.Epochs.Skip(1).Select(x => x.SamplesPerSecond).ToArray();
        double[] perCpu = cpuAtEpochEnd.Seconds.Zip(cpuAtEpochEnd.Seconds.Skip(1), (a, b) => data.Count / (b - a)).ToArray();
        Print("torchsharp", net, "trainer", Median(perEpoch), perEpoch, $"cpu_images_per_s={Median(perCpu):F1} rows={data.Count} epochs={epochs} (first epoch dropped)");

        int steps = TorchWorkload.IsCnn(net) ? 10 : 200;
        using var loop = new TorchWorkload.BareLoop(net);
        for (int i = 0; i < 3; i++)
        {
            loop.Step();
        }

        var rounds = new double[3];
        var cpuRounds = new double[3];
        for (int r = 0; r < rounds.Length; r++)
        {
            TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++)
            {
                loop.Step();
            }

            rounds[r] = steps * TorchWorkload.Batch / sw.Elapsed.TotalSeconds;
            cpuRounds[r] = steps * TorchWorkload.Batch / (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;
        }

        Print("torchsharp", net, "bare", Median(rounds), rounds, $"cpu_images_per_s={Median(cpuRounds):F1} steps={steps}x{rounds.Length}");
    }

    public static int Inference(string[] args)
    {
        Console.WriteLine($"# {TorchWorkload.ConfigureThreads()}; ONNX Runtime intra-op threads {TorchWorkload.Threads}; load {Load()}");
        torch.random.manual_seed(1);
        using var net = TorchWorkload.Create("cnn");
        net.eval();
        byte[] model = TorchOnnxExporter.Export(net, [1, TorchWorkload.ImageSize, TorchWorkload.ImageSize]);
        using var options = new SessionOptions { IntraOpNumThreads = TorchWorkload.Threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        foreach (int batch in new[] { TorchWorkload.Batch, 1 })
        {
            int runs = batch == 1 ? 200 : 10;
            long[] shape = [batch, 1, TorchWorkload.ImageSize, TorchWorkload.ImageSize];
            var rng = new Random(2);
            var input = new float[batch * TorchWorkload.ImageSize * TorchWorkload.ImageSize];
            for (int i = 0; i < input.Length; i++)
            {
                input[i] = rng.NextSingle();
            }

            using var x = torch.tensor(input, shape);
            using var ortInput = OrtValue.CreateTensorValueFromMemory(input, shape);
            using var runOptions = new RunOptions();
            var inputs = new Dictionary<string, OrtValue> { ["input"] = ortInput };
            float[] ortOut = [];
            void RunOrt()
            {
                using var outputs = session.Run(runOptions, inputs, ["output"]);
                ortOut = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            }

            float[] torchOut = [];
            void RunTorch()
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                torchOut = net.call(x).data<float>().ToArray();
            }

            // The same without a dispose scope: the intermediate tensors of the forward pass are then freed only by the GC's
            // finalizers, so libtorch cannot reuse their memory (kept to show the cost; see docs/benchmarks.md).
            void RunTorchNoScope()
            {
                using var noGrad = torch.no_grad();
                using var y = net.call(x);
                torchOut = y.data<float>().ToArray();
            }

            double[] ort = Time(RunOrt, runs, batch);
            double[] ts = Time(RunTorch, runs, batch);
            double diff = ortOut.Zip(torchOut, (a, b) => Math.Abs(a - b)).Max();
            Print("ort", "cnn", $"infer-b{batch}", Median(ort), ort, $"runs={runs}x{ort.Length}");
            Print("torchsharp", "cnn", $"infer-b{batch}", Median(ts), ts, $"runs={runs}x{ts.Length} max|ort-torch|={diff:G2}");
            double[] noScope = Time(RunTorchNoScope, runs, batch);
            Print("torchsharp", "cnn", $"infer-b{batch}-noscope", Median(noScope), noScope, $"runs={runs}x{noScope.Length}");
        }

        return 0;
    }

    public static int Matmul(string[] args)
    {
        Console.WriteLine($"# {TorchWorkload.ConfigureThreads()}; load {Load()}");
        int[] sizes = args.Skip(1).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        foreach (int n in sizes.Length > 0 ? sizes : [512])
        {
            using var a = torch.rand(n, n);
            using var b = torch.rand(n, n);
            for (int i = 0; i < 5; i++)
            {
                torch.matmul(a, b).Dispose();
            }

            var rounds = new double[3];
            for (int r = 0; r < rounds.Length; r++)
            {
                int reps = 0;
                var sw = Stopwatch.StartNew();
                while (sw.Elapsed < TimeSpan.FromSeconds(0.5))
                {
                    torch.matmul(a, b).Dispose();
                    reps++;
                }

                rounds[r] = 2.0 * n * n * n * reps / sw.Elapsed.TotalSeconds / 1e9;
            }

            Console.WriteLine(FormattableString.Invariant(
                $"RESULT impl=torchsharp op=matmul n={n} gflops={Median(rounds):F1} all=[{string.Join(",", rounds.Select(v => v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}]"));
        }

        return 0;
    }

    /// <summary>Warm-up, then three rounds of <paramref name="runs"/> calls; images/s of each round.</summary>
    private static double[] Time(Action action, int runs, int batch)
    {
        for (int i = 0; i < Math.Max(3, runs / 10); i++)
        {
            action();
        }

        var rounds = new double[3];
        for (int r = 0; r < rounds.Length; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < runs; i++)
            {
                action();
            }

            rounds[r] = runs * batch / sw.Elapsed.TotalSeconds;
        }

        return rounds;
    }

    /// <summary>Process CPU seconds (all threads) at the end of every epoch; synchronous, unlike <see cref="Progress{T}"/>.</summary>
    private sealed class CpuAtEpochEnd : IProgress<EpochRecord>
    {
        public List<double> Seconds { get; } = [];

        public void Report(EpochRecord value) => Seconds.Add(Environment.CpuUsage.TotalTime.TotalSeconds);
    }

    private static void Print(string impl, string net, string loop, double median, double[] all, string note) =>
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT impl={impl} net={net} loop={loop} images_per_s={median:F1} all=[{string.Join(",", all.Select(v => v.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}] {note}"));

    private static double Median(double[] values)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    private static string Load()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
