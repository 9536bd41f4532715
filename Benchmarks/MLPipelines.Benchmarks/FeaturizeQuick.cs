using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Backbones;
using MLPipelines.Data;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>featurize-quick --model resnet18|mobilenetv2 --images N [--data DIR] [--dataset sign-language-digits|stanford-cars]
/// [--batch B] [--decode-threads T] [--intra T] [--paths mlnet,chain,batched,split] [--models DIR]</c>: Stopwatch timings of
/// image featurization, JPEG decoding included, after a warm-up on 8 other images (session creation and JIT excluded):
/// <c>mlnet</c> = ML.NET's own DnnFeaturizeImage(ResNet-18) chain (ResNet-18 only), <c>chain</c> = our
/// ExtractEmbeddings chain (ML.NET, one row at a time), <c>batched</c> = BatchedFeaturizer (ONNX Runtime, batches),
/// <c>split</c> = its two stages timed alone (image decoding/resizing, then inference on the decoded pixels).
/// </summary>
internal static class FeaturizeQuick
{
    public static int Run(string[] args)
    {
        string model = Option(args, "--model") ?? "resnet18";
        int images = int.Parse(Option(args, "--images") ?? "200", CultureInfo.InvariantCulture);
        int batch = int.Parse(Option(args, "--batch") ?? "32", CultureInfo.InvariantCulture);
        int decode = int.Parse(Option(args, "--decode-threads") ?? "1", CultureInfo.InvariantCulture);
        int intra = int.Parse(Option(args, "--intra") ?? "0", CultureInfo.InvariantCulture);
        string datasetName = Option(args, "--dataset") ?? "sign-language-digits";
        var paths = (Option(args, "--paths") ?? "mlnet,chain,batched").Split(',', StringSplitOptions.RemoveEmptyEntries);
        string dataset = DatasetLocator.ResolveDataset(datasetName, Option(args, "--data") ?? DefaultDataRoot());
        string modelsDir = Option(args, "--models") ?? Path.GetFullPath(Path.Combine(dataset, "..", "..", "models"));

        var spec = model switch
        {
            "resnet18" => BackboneSpec.ResNet18(),
            "mobilenetv2" => BackboneSpec.MobileNetV2(Path.Combine(modelsDir, "mobilenetv2-12-int8.onnx")),
            _ => throw new ArgumentException($"Unknown --model '{model}' (resnet18 or mobilenetv2)."),
        };
        var all = ListImages(dataset, images + 8);
        if (all.Count < images + 8) throw new InvalidOperationException($"'{dataset}' has only {all.Count} images.");
        var warm = all.Take(8).ToList();
        var timed = all.Skip(8).Take(images).ToList();
        Console.WriteLine($"{spec.Name}, {timed.Count} images from {dataset}; {Environment.ProcessorCount} logical CPUs; load average {LoadAverage()}");

        foreach (var p in paths)
        {
            switch (p)
            {
                case "mlnet" when model == "resnet18":
                    TimeChain("ML.NET DnnFeaturizeImage(ResNet18), row at a time", warm, timed, 512, ml =>
                        ml.Transforms.LoadImages("Img", null, "ImagePath")
                            .Append(ml.Transforms.ResizeImages("Img", 224, 224, "Img"))
                            .Append(ml.Transforms.ExtractPixels("Pixels", "Img"))
                            .Append(ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels")));
                    break;
                case "mlnet":
                    break;
                case "chain":
                    TimeChain("ExtractEmbeddings chain (ML.NET ApplyOnnxModel), row at a time", warm, timed, spec.EmbeddingSize,
                        ml => ml.Transforms.ExtractEmbeddings(spec));
                    break;
                case "batched":
                    TimeBatched(spec, warm, timed, new BatchedFeaturizerOptions { BatchSize = batch, DecodeThreads = decode, IntraOpThreads = intra });
                    break;
                case "split":
                    TimeStages(spec, warm, timed, new BatchedFeaturizerOptions { BatchSize = batch, IntraOpThreads = intra });
                    break;
                default:
                    throw new ArgumentException($"Unknown path '{p}' (mlnet, chain, batched, split).");
            }
        }
        Console.WriteLine($"load average after: {LoadAverage()}");
        return 0;
    }

    private static void TimeChain(string label, List<string> warm, List<string> timed, int dim, Func<MLContext, IEstimator<ITransformer>> build)
    {
        var ml = new MLContext(seed: 1);
        var warmData = ml.Data.LoadFromEnumerable(warm.Select(p => new ImageInput { ImagePath = p }).ToList());
        var transformer = build(ml).Fit(warmData);
        Consume(transformer.Transform(warmData), dim);
        var data = ml.Data.LoadFromEnumerable(timed.Select(p => new ImageInput { ImagePath = p }).ToList());
        var cpu0 = Environment.CpuUsage.TotalTime;
        var sw = Stopwatch.StartNew();
        int rows = Consume(transformer.Transform(data), dim);
        Report(label, rows, sw.Elapsed, Environment.CpuUsage.TotalTime - cpu0);
    }

    private static int Consume(IDataView view, int dim)
    {
        int rows = 0;
        foreach (var v in view.GetColumn<VBuffer<float>>(view.Schema["Features"]))
        {
            if (v.Length != dim) throw new InvalidOperationException($"Got {v.Length} features, expected {dim}.");
            rows++;
        }
        return rows;
    }

    private static void TimeBatched(BackboneSpec spec, List<string> warm, List<string> timed, BatchedFeaturizerOptions options)
    {
        using var featurizer = new BatchedFeaturizer(spec, options);
        featurizer.Featurize(warm);
        var cpu0 = Environment.CpuUsage.TotalTime;
        var sw = Stopwatch.StartNew();
        var result = featurizer.Featurize(timed);
        Report($"BatchedFeaturizer (ONNX Runtime, batch {options.BatchSize}, decode threads {options.DecodeThreads}, intra-op {(options.IntraOpThreads == 0 ? "auto" : options.IntraOpThreads)})",
            result.Count, sw.Elapsed, Environment.CpuUsage.TotalTime - cpu0);
    }

    /// <summary>The two stages of the batched path alone: ML.NET decode + resize + pixels, then ONNX Runtime on those pixels.</summary>
    private static void TimeStages(BackboneSpec spec, List<string> warm, List<string> timed, BatchedFeaturizerOptions options)
    {
        var ml = new MLContext(seed: 1);
        var imageOptions = BackboneImageOptions.For(spec);
        ImagePreprocessing.ExtractFeatures(ml, warm, imageOptions);
        var cpu0 = Environment.CpuUsage.TotalTime;
        var sw = Stopwatch.StartNew();
        float[] pixels = ImagePreprocessing.ExtractFeatures(ml, timed, imageOptions);
        Report("decode + resize + ExtractPixels only (ML.NET, 1 thread)", timed.Count, sw.Elapsed, Environment.CpuUsage.TotalTime - cpu0);
        using var featurizer = new BatchedFeaturizer(spec, options);
        featurizer.Run(pixels.AsMemory(0, Math.Min(8, timed.Count) * spec.PixelCount), Math.Min(8, timed.Count));
        cpu0 = Environment.CpuUsage.TotalTime;
        sw.Restart();
        featurizer.Run(pixels, timed.Count);
        Report($"ONNX Runtime inference only (batch {options.BatchSize})", timed.Count, sw.Elapsed, Environment.CpuUsage.TotalTime - cpu0);
    }

    private static void Report(string label, int rows, TimeSpan wall, TimeSpan cpu) =>
        Console.WriteLine($"  {label}: {rows / wall.TotalSeconds,7:F1} images/s  ({rows} in {wall.TotalSeconds:F2} s, CPU/wall {cpu.TotalSeconds / wall.TotalSeconds:F2})");

    private static List<string> ListImages(string dataset, int count)
    {
        // Round-robin over class folders (or all files of a flat folder), sorted, so any N covers every class.
        var folders = Directory.GetDirectories(dataset).OrderBy(d => d, StringComparer.Ordinal)
            .Select(d => Directory.GetFiles(d).Where(IsImage).OrderBy(f => f, StringComparer.Ordinal).ToList())
            .Where(l => l.Count > 0).ToList();
        var result = new List<string>();
        for (int i = 0; result.Count < count && folders.Any(f => i < f.Count); i++)
        {
            foreach (var f in folders)
            {
                if (i < f.Count && result.Count < count) result.Add(f[i]);
            }
        }
        return result;
    }

    private static bool IsImage(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".bmp";

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string? DefaultDataRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "datasets");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => a + " " + b);
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
