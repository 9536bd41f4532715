using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Backbones;
using MLPipelines.Knn;
using MLPipelines.Onnx;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Testing;
using MLPipelines.Tests.Backbones;
using MLPipelines.Tests.Data;
using MLPipelines.Tests.Onnx;

namespace MLPipelines.Tests.Knn;

/// <summary>Tiny backbones and synthetic datasets shared by the m3-knn and similar tests.</summary>
internal static class M3KnnFixture
{
    public static readonly string[] Classes = ["a", "b", "c"];

    /// <summary>
    /// A tiny random "backbone" that keeps the position of the synthetic images' bar: input "input" [N,3,224,224] →
    /// Conv(3→2, 16×16, stride 16) → Relu → Flatten → output "output" [N, 2·14·14].
    /// </summary>
    public static string WriteSpatialBackbone(string folder)
    {
        var rng = new Random(7);
        var b = new OnnxGraphBuilder("tiny_spatial", 13);
        string x = b.AddInput("input", OnnxElementType.Float, -1, 3, 224, 224);
        var w = new float[2 * 3 * 16 * 16];
        for (int i = 0; i < w.Length; i++) w[i] = 0.01f + 0.02f * (float)rng.NextDouble();
        b.AddInitializer("conv_w", w, 2, 3, 16, 16);
        b.AddNode("Conv", [x, "conv_w"], "conv", OnnxAttribute.Ints("kernel_shape", 16, 16), OnnxAttribute.Ints("strides", 16, 16));
        b.AddNode("Relu", ["conv"], "relu");
        b.AddNode("Flatten", ["relu"], "output", OnnxAttribute.Int("axis", 1));
        b.AddOutput("output", OnnxElementType.Float, -1, 2 * 14 * 14);
        string path = Path.Combine(folder, "tiny-spatial.onnx");
        OnnxModelIO.SaveAtomic(b.Build(), path);
        return path;
    }

    /// <summary>Synthetic images + a finished m3-knn run (k = 3, Euclidean) in dir/run.</summary>
    public static (string Data, string Run, KnnExperimentResult Result) Run(TempDir dir, int k = 3, KnnMetric metric = KnnMetric.Euclidean)
    {
        string data = SyntheticImages.Write(dir.Combine("data"), Classes, perClass: 10, seed: 3);
        string backbone = WriteSpatialBackbone(dir.Path);
        string run = dir.Combine("run");
        var progress = new List<(int Done, int Total)>();
        var result = Milestone3Knn.Run(
            new ExperimentOptions { DatasetFolder = data, Seed = 1, OutputDirectory = run },
            new KnnExperimentOptions
            {
                Backbone = backbone, K = [k], Metrics = [metric], CacheDirectory = dir.Combine("cache"), ChainCheckImages = 6,
                FeaturizeProgress = new Collect<(int Done, int Total)>(progress),
            });
        // Progress counts up to every image of the split (30), with the total known from the first report.
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal(Classes.Length * 10, p.Total));
        Assert.Equal(Classes.Length * 10, progress[^1].Done);
        return (data, run, result);
    }

    private sealed class Collect<T>(List<T> sink) : IProgress<T>
    {
        public void Report(T value)
        {
            lock (sink)
                sink.Add(value);
        }
    }
}

public sealed class M3KnnTests
{
    [Fact]
    public void M3Knn_end_to_end_writes_files_learns_the_synthetic_task_and_the_zip_reloads_with_the_same_predictions()
    {
        using var dir = new TempDir();
        var (_, run, result) = M3KnnFixture.Run(dir);

        foreach (var f in new[] { "model.zip", Milestone3Knn.IndexFileName, "metrics.json", "predictions.csv", "confusion-matrix.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), f + " is missing");
        var row = Assert.Single(result.Rows);
        Assert.True(row.Accuracy >= 0.9, $"accuracy {row.Accuracy}");
        Assert.Equal(392, result.EmbeddingSize);

        var metrics = MetricsJson.Read(Path.Combine(run, "metrics.json"));
        Assert.Equal(row.Accuracy, metrics.Validation.Accuracy, 12);
        Assert.Equal(6, (int)metrics.Extra["chain_check_agree"]!);
        Assert.True((double)metrics.Extra["knn_ms_per_image"]! > 0);
        Assert.True(metrics.Validation.MacroF1 > 0);

        // Same split as the other milestones (seed 1): predictions.csv lists exactly the validation images.
        var lines = File.ReadAllLines(Path.Combine(run, "predictions.csv")).Skip(1).ToList();
        var split = MLPipelines.Data.DataSplit.Stratified(MLPipelines.Data.StanfordCars.Load(dir.Combine("data")).Items, i => i.Label, 0.2, 0, 1);
        Assert.Equal(split.Validation.Select(i => i.Path), lines.Select(l => l.Split(',')[0].Trim('"')));

        // Fresh MLContext, every validation image through the saved chain (images → embeddings → KNN).
        var ml = new MLContext(seed: 5);
        var model = ml.Model.Load(Path.Combine(run, "model.zip"), out _);
        var view = ml.Data.LoadFromEnumerable(split.Validation.Select(i => new PathRow { ImagePath = i.Path }).ToList());
        var scored = model.Transform(view);
        var predicted = ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel").Fit(scored).Transform(scored);
        var labels = predicted.GetColumn<string>("PredictedLabelValue").ToList();
        Assert.Equal(lines.Select(l => l.Split(',')[2]), labels);
    }

    [Fact]
    public void M3Knn_grid_reuses_the_embeddings_and_writes_a_results_table()
    {
        using var dir = new TempDir();
        string data = SyntheticImages.Write(dir.Combine("data"), M3KnnFixture.Classes, perClass: 8, seed: 4);
        string backbone = M3KnnFixture.WriteSpatialBackbone(dir.Path);
        var result = Milestone3Knn.Run(
            new ExperimentOptions { DatasetFolder = data, OutputDirectory = dir.Combine("grid") },
            new KnnExperimentOptions { Backbone = backbone, K = [1, 3], Metrics = [KnnMetric.Euclidean, KnnMetric.Cosine], ChainCheckImages = 2 });
        Assert.Equal(4, result.Rows.Count);
        Assert.True(File.Exists(dir.Combine("grid", "results.md")));
        Assert.Equal(5, File.ReadAllLines(dir.Combine("grid", "results.csv")).Length);
        foreach (var sub in new[] { "euclidean-k1", "euclidean-k3", "cosine-k1", "cosine-k3" })
            Assert.True(File.Exists(dir.Combine("grid", sub, "model.zip")), sub);
    }

    [Fact]
    public void M3Knn_onnx_cut_at_the_pooled_features_equals_the_backbone_without_its_classifier()
    {
        using var dir = new TempDir();
        string withHead = BackboneTestSupport.WriteTinyModel(dir.Path, "classifier.onnx", channels: 6, withClassifier: true, seed: 11);
        string withoutHead = BackboneTestSupport.WriteTinyModel(dir.Path, "features.onnx", channels: 6, withClassifier: false, seed: 11);
        var model = OnnxModelIO.Load(withHead);

        var found = OnnxFeatureCut.FindPooledFeatures(model);
        Assert.Equal("pooled", found.TensorName);
        Assert.Equal(6, found.Size);
        var (cut, _) = OnnxFeatureCut.CutAtPooledFeatures(model, "features");
        Assert.DoesNotContain(cut.Graph!.Nodes, n => n.OpType == "Gemm");
        Assert.DoesNotContain(cut.Graph.Initializers, t => t.Name == "fc_w");
        Assert.Equal(2, model.Graph!.Nodes.Count(n => n.OpType is "Gemm" or "Flatten")); // the original is unchanged

        var pixels = BackboneTestSupport.RandomPixels(3, 224, 5);
        var expected = OrtRunner.Run(File.ReadAllBytes(withoutHead), ("input", pixels, [3, 3, 224, 224]))["output"];
        var actual = OrtRunner.Run(cut.ToBytes(), ("input", pixels, [3, 3, 224, 224]))["features"];
        Assert.Equal([3L, 6L], actual.Shape);
        Assert.Equal(expected.Floats, actual.Floats);
    }

    [Fact]
    public void M3Knn_reads_the_onnx_model_embedded_in_an_mlnet_zip()
    {
        using var dir = new TempDir();
        var (_, run, _) = M3KnnFixture.Run(dir);
        var bytes = OnnxFeatureCut.ReadOnnxFromModelZip(Path.Combine(run, "model.zip"));
        var model = OnnxModelIO.Parse(bytes);
        Assert.Contains(model.Graph!.Nodes, n => n.OpType == "Conv");   // the compiled backbone is the first ONNX model of the chain
        Assert.Throws<InvalidDataException>(() => OnnxFeatureCut.ReadOnnxFromModelZip(WriteZipWithoutOnnx(dir.Combine("empty.zip"))));
    }

    private static string WriteZipWithoutOnnx(string path)
    {
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
            zip.CreateEntry("Schema");
        return path;
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }
}

public sealed class M3KnnCliTests
{
    [Fact]
    public void M3Knn_cli_runs_on_a_tiny_onnx_backbone_and_rejects_bad_options()
    {
        using var dir = new TempDir();
        string data = SyntheticImages.Write(dir.Combine("data"), M3KnnFixture.Classes, perClass: 6, seed: 2);
        string backbone = M3KnnFixture.WriteSpatialBackbone(dir.Path);
        string run = dir.Combine("cli");
        Assert.Equal(0, MLPipelines.Cli.Program.Main(["m3-knn", "--data", data, "--backbone", backbone, "--k", "3", "--metric", "cosine",
            "--weighting", "distance", "--out", run, "--cache", dir.Combine("cache")]));
        var metrics = MetricsJson.Read(Path.Combine(run, "metrics.json"));
        Assert.Equal("cosine", (string)metrics.Extra["metric"]!);
        Assert.Equal("distance", (string)metrics.Extra["weighting"]!);
        Assert.Equal(2, MLPipelines.Cli.Program.Main(["m3-knn", "--data", data, "--metric", "manhattan"]));
        Assert.Equal(2, MLPipelines.Cli.Program.Main(["m3-knn", "--data", data, "--bogus", "1"]));
    }
}

public sealed class SimilarTests
{
    [Fact]
    public void Similar_prints_k_neighbours_and_writes_the_gallery_png()
    {
        using var dir = new TempDir();
        var (data, run, _) = M3KnnFixture.Run(dir);
        string query = Directory.GetFiles(Path.Combine(data, "b")).OrderBy(p => p, StringComparer.Ordinal).First();
        string png = dir.Combine("gallery.png");

        var result = SimilarImages.Find(run, query, 4);
        Assert.Equal(4, result.Neighbors.Count);
        Assert.Equal("b", result.PredictedLabel);
        Assert.All(result.Neighbors, n => Assert.True(File.Exists(n.SourceId)));
        Assert.Equal("b", result.Neighbors[0].LabelName);
        Assert.True(result.Neighbors.Zip(result.Neighbors.Skip(1)).All(p => p.First.Distance <= p.Second.Distance));

        var original = Console.Out;
        var captured = new StringWriter(CultureInfo.InvariantCulture);
        int code;
        try
        {
            Console.SetOut(captured);
            code = MLPipelines.Cli.Program.Main(["similar", "--model", run, query, "--k", "4", "--out", png]);
        }
        finally
        {
            Console.SetOut(original);
        }
        Assert.Equal(0, code);
        var lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Console.Out is process-wide and other tests run in parallel: keep only the rank lines ("RANK<TAB>LABEL<TAB>...").
        var ranks = lines.Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d+\t[^\t]+\t")).ToList();
        Assert.Equal(4, ranks.Count);
        Assert.StartsWith("1\tb\t", ranks[0], StringComparison.Ordinal);
        Assert.True(new FileInfo(png).Length > 1000);
        using var image = SkiaSharp.SKBitmap.Decode(png);
        Assert.True(image.Width > image.Height);
    }
}

/// <summary>Trains with libtorch's process-wide thread count set, so it runs in the serialised torch-training collection.</summary>
[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)]
public sealed class M3KnnFineTunedTests
{
    [MLPipelines.Tests.Torch.TorchFact]
    public void M3Transfer_with_crops_cutmix_and_a_holdout_records_them_and_keeps_the_best_epoch()
    {
        using var dir = new TempDir();
        string data = SyntheticImages.Write(dir.Combine("data"), M3KnnFixture.Classes, perClass: 10, seed: 4);
        string run = dir.Combine("transfer");
        var epochs = new List<EpochRecord>();
        Milestone3Transfer.Run(
            new ExperimentOptions { DatasetFolder = data, ImageSize = 32, Seed = 1, OutputDirectory = run },
            new TransferOptions
            {
                Backbone = "resnet18", Weights = "none", Epochs = 3, BatchSize = 8, Threads = 2, TestTimeHorizontalFlip = false,
                MinCropScale = 0.3, CutmixAlpha = 1.0, EarlyStoppingPatience = 100,
                Progress = new SyncProgress<EpochRecord>(epochs.Add),
            });
        var metrics = MetricsJson.Read(Path.Combine(run, "metrics.json"));
        Assert.Equal(0.3, (double)metrics.Extra["min_crop_scale"]!);
        Assert.Contains("cutmix 1", (string)metrics.Extra["mixing"]!, StringComparison.Ordinal);
        Assert.Equal(0.1, (double)metrics.Extra["early_stopping_holdout"]!);
        Assert.Equal(3, epochs.Count); // patience 100 never stops
        // Per-epoch figures come from the hold-out, and the kept epoch is the one with its lowest loss (earliest on ties).
        Assert.All(epochs, e => Assert.NotNull(e.ValidationLoss));
        double bestLoss = epochs.Min(e => e.ValidationLoss!.Value);
        int expected = epochs.First(e => e.ValidationLoss == bestLoss).Epoch;
        Assert.Equal(expected, (int)metrics.Extra["best_epoch"]!);
    }

    [MLPipelines.Tests.Torch.TorchFact]
    public void M3Knn_on_an_m3_transfer_zip_uses_the_network_up_to_its_pooled_features()
    {
        using var dir = new TempDir();
        string data = SyntheticImages.Write(dir.Combine("data"), M3KnnFixture.Classes, perClass: 8, seed: 9);
        string transferRun = dir.Combine("transfer");
        Milestone3Transfer.Run(
            new ExperimentOptions { DatasetFolder = data, ImageSize = 32, Seed = 1, OutputDirectory = transferRun, TestData = data },
            new TransferOptions { Backbone = "resnet18", Weights = "none", Epochs = 1, BatchSize = 8, Threads = 2, TestTimeHorizontalFlip = true });
        string zip = Path.Combine(transferRun, "model.zip");
        var transferMetrics = MetricsJson.Read(Path.Combine(transferRun, "metrics.json"));
        Assert.Equal("data", (string)transferMetrics.Extra["dataset"]!);
        Assert.Equal(M3KnnFixture.Classes.Length * 8, transferMetrics.Test!.Count);

        // The backbone spec of the zip: the network cut before its fc layer (512 pooled features), pixels / 255 at 32 px.
        var spec = Milestone3Knn.ResolveBackbone(new KnnExperimentOptions { Backbone = zip }, dir.Path, null, out var temporary);
        try
        {
            Assert.Equal(512, spec.EmbeddingSize);
            Assert.Equal(32, spec.ImageSize);
            var paths = Directory.GetFiles(Path.Combine(data, "a")).OrderBy(p => p, StringComparer.Ordinal).Take(3).ToList();
            using var featurizer = new BatchedFeaturizer(spec);
            var embeddings = featurizer.Featurize(paths).Embeddings;

            // Manual run: the zip's own ONNX graph cut with CutAtPooledFeatures, fed the m3-transfer preprocessing (RGB / 255).
            var (cut, _) = OnnxFeatureCut.CutAtPooledFeatures(OnnxModelIO.Parse(OnnxFeatureCut.ReadOnnxFromModelZip(zip)), "pooled_out");
            var pixels = MLPipelines.Data.ImagePreprocessing.ExtractFeatures(new MLContext(0), paths,
                new MLPipelines.Data.ImagePreprocessingOptions { ImageSize = 32, Grayscale = false });
            // The zip averages each image with its mirror image (--tta); embeddings are of the image as given.
            Assert.Contains(OnnxModelIO.Parse(OnnxFeatureCut.ReadOnnxFromModelZip(zip)).Graph!.Nodes, n => n.OpType == "Slice");
            Assert.DoesNotContain(cut.Graph!.Nodes, n => n.OpType is "Slice" or "Concat");
            var manual = OrtRunner.Run(cut.ToBytes(), ("Features", pixels, [paths.Count, 3 * 32 * 32]))["pooled_out"];
            Assert.Equal([(long)paths.Count, 512L], manual.Shape);
            for (int i = 0; i < paths.Count; i++)
            {
                double norm = Math.Sqrt(manual.Floats!.Skip(i * 512).Take(512).Sum(v => (double)v * v));
                Assert.True(Math.Abs(norm - 1) <= 1e-4, $"image {i}: embedding norm {norm} (the cosine head's cut must be unit length)");
            }
            for (int i = 0; i < embeddings.Length; i++)
                Assert.True(Math.Abs(embeddings[i] - manual.Floats![i]) <= 1e-4 * (1 + Math.Abs(manual.Floats[i])), $"slot {i}: {embeddings[i]} vs {manual.Floats[i]}");
        }
        finally
        {
            if (temporary is not null) File.Delete(temporary);
        }

        // And the whole command runs on it.
        var result = Milestone3Knn.Run(
            new ExperimentOptions { DatasetFolder = data, Seed = 1, OutputDirectory = dir.Combine("knn") },
            new KnnExperimentOptions { Backbone = zip, K = [3], ChainCheckImages = 3 });
        Assert.Equal(512, result.EmbeddingSize);
        Assert.True(File.Exists(dir.Combine("knn", "model.zip")));
        Assert.Equal(3, (int)MetricsJson.Read(dir.Combine("knn", "metrics.json")).Extra["chain_check_agree"]!);
        // The best recipe's cosine head: the cut is at the L2-normalised embedding, and retrieval metrics are written.
        var knnMetrics = MetricsJson.Read(dir.Combine("knn", "metrics.json"));
        Assert.Equal("cosine", (string)MetricsJson.Read(Path.Combine(transferRun, "metrics.json")).Extra["head"]!);
        Assert.True((bool)knnMetrics.Extra["mirror_embeddings"]!); // the best recipe averages each embedding with its mirror's
        Assert.NotNull(result.Retrieval);
        Assert.Equal((double)knnMetrics.Extra["recall_at_1"]!, result.Retrieval!.RecallAt[1], 12);
        Assert.InRange((double)knnMetrics.Extra["retrieval_map"]!, 0, 1);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.onnx.tmp"));
    }
}
