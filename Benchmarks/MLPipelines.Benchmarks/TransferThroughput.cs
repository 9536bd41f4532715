using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using MLPipelines.Data;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Torch.Training;
using MLPipelines.Torch.Transfer;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>transfer-throughput --data DIR/stanford-cars [--images 640] [--image-size 224] [--batch 32] [--rounds 3] [--threads 2]
/// [--configs fp32,bf16-cl]</c>: training images/s of the m3-transfer fine-tune (ML.NET's pretrained ResNet-18, layout
/// [2, 2, 2, 3], new 196-class head, Adam lr 1e-4 with the head at 10x, RandomResizedCrop 0.8-1 + horizontal flip, batch
/// 32), measured in ONE process on the same decoded images for each training configuration (float32 today;
/// bfloat16 mixed precision and/or channels-last), alternating the configurations round by round after a warm-up
/// round, and printing every round, the median per configuration and each one's ratio to float32. Before that it
/// times where the float32 step's time goes (batch gather + uint8 decode, augmentation, forward, backward, optimiser).
/// </summary>
internal static class TransferThroughput
{
    private static readonly Dictionary<string, (TorchPrecision Precision, bool ChannelsLast)> Known = new()
    {
        ["fp32"] = (TorchPrecision.Float32, false),
        ["fp32-cl"] = (TorchPrecision.Float32, true),
        ["bf16"] = (TorchPrecision.BFloat16Mixed, false),
        ["bf16-cl"] = (TorchPrecision.BFloat16Mixed, true),
    };

    public static int Run(string[] args)
    {
        string data = Option(args, "--data") ?? throw new ArgumentException("--data DIR (Stanford Cars) is required.");
        int images = Int(args, "--images", 640);
        int size = Int(args, "--image-size", 224);
        int batch = Int(args, "--batch", 32);
        int rounds = Int(args, "--rounds", 3);
        int threads = Int(args, "--threads", 2);
        var configs = (Option(args, "--configs") ?? "fp32,bf16-cl").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var c in configs)
        {
            if (!Known.ContainsKey(c))
                throw new ArgumentException($"Unknown configuration '{c}': use {string.Join(", ", Known.Keys)}.");
        }
        string weights = Milestone3Transfer.FindMlNetResNet18() ?? throw new FileNotFoundException("ML.NET's ResNet18.onnx was not found.");
        torch.set_num_threads(threads);

        var dataset = StanfordCars.Load(data);
        var items = dataset.Items.Take(images).ToList();
        var classes = dataset.Classes.ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"transfer-throughput: {items.Count} images at {size} px, batch {batch}, {threads} threads, libtorch threads {torch.get_num_threads()}, interop {torch.get_num_interop_threads()}"));
        var clock = Stopwatch.StartNew();
        var pixels = ImagePreprocessing.ExtractFeatures(new MLContext(1), items.Select(i => i.Path).ToList(),
            new ImagePreprocessingOptions { ImageSize = size, Grayscale = false });
        double decodeSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"JPEG decode + resize + pixels (ML.NET, once per run): {decodeSeconds:F1} s, {items.Count / decodeSeconds:F1} images/s"));
        int d = 3 * size * size;
        var codes = new byte[pixels.LongLength];
        for (long i = 0; i < pixels.LongLength; i++)
            codes[i] = (byte)MathF.Round(pixels[i] * 255f);
        var levels = Enumerable.Range(0, 256).Select(k => k / 255f).ToArray();
        var labels = items.Select(i => classes.IndexOf(i.Label)).ToArray();
        var train = new TorchDataset(codes, levels, labels, d, [3, size, size]);
        pixels = null;
        nn.Module<Tensor, Tensor> Factory() => PretrainedWeights.CreateMlNetResNet18(weights, classes.Count, 0.5);

        Console.WriteLine($"memory after decoding: {Memory()}");
        ResetPeak();
        Phases(train, Factory, batch, size);
        Console.WriteLine($"memory after the float32 phases: {Memory()}");
        if (args.Contains("--phases-only"))
            return 0;

        TorchTrainingSettings Settings(string config, int epochsRows) => new()
        {
            Optimizer = TorchOptimizerKind.Adam,
            LearningRate = 1e-4,
            Epochs = 1,
            BatchSize = batch,
            Seed = 1,
            Threads = threads,
            Device = "cpu",
            Augmentation = [new RandomResizedCrop(0.8, 1.0), new HorizontalFlip()],
            Transfer = new TorchTransferOptions { Strategy = TransferStrategy.FineTune, HeadLearningRateMultiplier = 10 },
            Precision = Known[config].Precision,
            ChannelsLast = Known[config].ChannelsLast,
        };

        var warm = new TorchDataset(codes.AsSpan(0, 2 * batch * d).ToArray(), levels, labels[..(2 * batch)], d, [3, size, size]);
        foreach (var config in configs)
        {
            ResetPeak();
            var r = new TorchClassifierTrainer(Factory, Settings(config, warm.Count)).Train(warm, classCount: classes.Count);
            r.Module.Dispose();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up {config}: {r.ImagesPerSecond:F1} images/s; {Memory()}"));
        }
        var results = configs.ToDictionary(c => c, _ => new List<double>());
        for (int round = 1; round <= rounds; round++)
        {
            foreach (var config in configs)
            {
                var r = new TorchClassifierTrainer(Factory, Settings(config, train.Count)).Train(train, classCount: classes.Count);
                r.Module.Dispose();
                results[config].Add(r.ImagesPerSecond);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round} {config,-8}: {r.ImagesPerSecond,6:F1} images/s (loss {r.History.Epochs[^1].TrainLoss:F3}, load {Load()})"));
            }
        }
        double baseline = Median(results[configs[0]]);
        Console.WriteLine("median images/s over the rounds (training step incl. batch decode and augmentation):");
        foreach (var config in configs)
        {
            double m = Median(results[config]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {config,-8} {m,6:F1} images/s  x{m / baseline:F2} vs {configs[0]}"));
        }
        return 0;
    }

    /// <summary>Times the parts of the float32 training step on 8 batches after 2 warm-up batches.</summary>
    private static void Phases(TorchDataset train, Func<nn.Module<Tensor, Tensor>> factory, int batch, int size)
    {
        using var net = factory();
        net.train();
        using var optimizer = optim.Adam(net.parameters(), 1e-4);
        using var levels = torch.tensor(train.Levels!);
        using var all = torch.tensor(train.Codes!, [train.Count, train.FeatureCount]);
        var crop = new RandomResizedCrop(0.8, 1.0);
        var flip = new HorizontalFlip();
        using var generator = new Generator(1);
        var t = new double[5];
        int measured = 0;
        for (int step = 0; step < 10; step++)
        {
            using var scope = torch.NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var index = torch.arange(step * batch % (train.Count - batch), step * batch % (train.Count - batch) + batch, ScalarType.Int64);
            var codes = all.index_select(0, index);
            var x = levels.index_select(0, codes.view(-1).to(ScalarType.Int64)).view(batch, 3, size, size);
            var y = torch.tensor(train.Labels.Skip((int)index[0].item<long>()).Take(batch).Select(v => (long)v).ToArray());
            double a = clock.Elapsed.TotalSeconds;
            x = flip.Apply(crop.Apply(x, generator), generator);
            double b = clock.Elapsed.TotalSeconds;
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(net.call(x), y);
            _ = loss.item<float>();
            double c = clock.Elapsed.TotalSeconds;
            loss.backward();
            double e = clock.Elapsed.TotalSeconds;
            optimizer.step();
            double f = clock.Elapsed.TotalSeconds;
            if (step < 2)
                continue;
            measured++;
            t[0] += a;
            t[1] += b - a;
            t[2] += c - b;
            t[3] += e - c;
            t[4] += f - e;
        }
        double total = t.Sum();
        string[] names = ["gather + uint8 decode", "augmentation", "forward + loss", "backward", "Adam step"];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"float32 step, mean of {measured} batches of {batch}: {1000 * total / measured:F0} ms ({batch * measured / total:F1} images/s; load {Load()})"));
        for (int i = 0; i < names.Length; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {names[i],-22} {1000 * t[i] / measured,7:F1} ms  {100 * t[i] / total,5:F1} %"));
    }

    /// <summary>Resident and peak resident memory of this process (VmRSS, VmHWM).</summary>
    private static string Memory()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/self/status");
            string Field(string name) => lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))?[(name.Length + 1)..].Trim() ?? "?";
            return $"resident {Field("VmRSS")}, peak {Field("VmHWM")} (peak since the last reset)";
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>Resets the kernel's peak resident size of this process (Linux: "5" to /proc/self/clear_refs).</summary>
    private static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine("(cannot reset the peak resident size)");
        }
    }

    private static string Load()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static int Int(string[] args, string name, int fallback) =>
        Option(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
