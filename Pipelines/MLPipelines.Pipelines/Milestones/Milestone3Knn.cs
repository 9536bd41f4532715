using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Backbones;
using MLPipelines.Data;
using MLPipelines.IO;
using MLPipelines.Knn;
using MLPipelines.Onnx;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Models;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Knn;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>Options of <see cref="Milestone3Knn"/>.</summary>
public sealed class KnnExperimentOptions
{
    /// <summary>
    /// The backbone: "resnet18" (ML.NET's ImageNet ResNet-18), "mobilenetv2" (ONNX zoo int8 model found in
    /// <see cref="ModelsFolder"/>), a FILE.onnx (see <see cref="InputName"/>/<see cref="OutputName"/>), or a MODEL.zip
    /// written by <c>m3-transfer</c> (its network cut at the pooled features). The default value is "resnet18".
    /// </summary>
    public string Backbone { get; set; } = "resnet18";

    /// <summary>Input tensor of a FILE.onnx backbone. The default value is "input" (a torchvision export).</summary>
    public string InputName { get; set; } = "input";

    /// <summary>Feature output of a FILE.onnx backbone (with ImageNet normalisation, 224 px). The default value is "output".</summary>
    public string OutputName { get; set; } = "output";

    /// <summary>Folder searched for mobilenetv2-12-int8.onnx; null tries $MLPIPELINES_MODELS, then ../shared/models. The default value is null.</summary>
    public string? ModelsFolder { get; set; }

    /// <summary>Environment variable naming the folder that holds shared pretrained models (e.g. mobilenetv2-12-int8.onnx): MLPIPELINES_MODELS.</summary>
    public const string ModelsEnvironmentVariable = "MLPIPELINES_MODELS";

    /// <summary>Neighbour counts; more than one value (or more than one metric) runs a grid. The default value is [10].</summary>
    public IReadOnlyList<int> K { get; set; } = [10];

    /// <summary>Distance metrics. The default value is [Euclidean].</summary>
    public IReadOnlyList<KnnMetric> Metrics { get; set; } = [KnnMetric.Euclidean];

    /// <summary>Vote weighting. The default value is <see cref="KnnWeighting.Uniform"/>.</summary>
    public KnnWeighting Weighting { get; set; } = KnnWeighting.Uniform;

    /// <summary>Embedding cache folder of the <see cref="BatchedFeaturizer"/>; null for none. The default value is null.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Images per featurizer batch. The default value is 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Validation images also run through the saved model.zip (fresh MLContext) to check it predicts like the vectors. The default value is 8.</summary>
    public int ChainCheckImages { get; set; } = 8;

    /// <summary>Receives (images featurized so far, images in all). The default value is null.</summary>
    public IProgress<(int Done, int Total)>? FeaturizeProgress { get; set; }
}

/// <summary>One grid cell of <see cref="Milestone3Knn"/>.</summary>
/// <param name="K">Neighbours.</param>
/// <param name="Metric">Distance metric.</param>
/// <param name="Accuracy">Validation accuracy.</param>
/// <param name="MacroF1">Validation macro F1.</param>
/// <param name="TestAccuracy">Test accuracy, when test data was given.</param>
/// <param name="MillisecondsPerImage">KNN search and vote time per validation image on the precomputed embeddings.</param>
/// <param name="OutputDirectory">Folder holding the model and reports.</param>
public sealed record KnnGridRow(int K, KnnMetric Metric, double Accuracy, double MacroF1, double? TestAccuracy, double MillisecondsPerImage, string OutputDirectory);

/// <summary>Result of <see cref="Milestone3Knn.Run"/>.</summary>
/// <param name="Rows">One row per (k, metric), in run order.</param>
/// <param name="EmbeddingSize">Features per image.</param>
/// <param name="FeaturizeImagesPerSecond">Images per second of the featurizer over the images it computed (0 when all came from the cache).</param>
/// <param name="CacheHits">Embeddings read from the cache.</param>
/// <param name="ResultsTable">The markdown table of the grid (also written to results.md when there is more than one row).</param>
public sealed record KnnExperimentResult(IReadOnlyList<KnnGridRow> Rows, int EmbeddingSize, double FeaturizeImagesPerSecond, int CacheHits, string ResultsTable);

/// <summary>
/// Milestone 3, KNN on pretrained (or fine-tuned) embeddings: dataset → the stratified split of the other milestones →
/// embeddings from <see cref="BatchedFeaturizer"/> (with its cache) → <c>ml.MulticlassClassification.Trainers.Knn</c>
/// (image paths as source ids) → model.zip = stock chain <c>ExtractEmbeddings + KNN</c>, knn-index.npz, metrics.json,
/// confusion matrix, predictions.csv.
/// </summary>
public static class Milestone3Knn
{
    /// <summary>File name of the retrieval index beside model.zip.</summary>
    public const string IndexFileName = "knn-index.npz";

    /// <summary>Classes above which the confusion-matrix heatmap is replaced by most-confused-pairs.csv.</summary>
    public const int MaxHeatmapClasses = 50;

    /// <summary>Runs the milestone.</summary>
    /// <param name="experiment">Data, split and output options (<see cref="ExperimentOptions.DataRoot"/> is the dataset folder, or its parent when <see cref="ExperimentOptions.Dataset"/> names it).</param>
    /// <param name="knn">Backbone and KNN options.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <returns>The grid of results.</returns>
    public static KnnExperimentResult Run(ExperimentOptions experiment, KnnExperimentOptions knn, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(knn);
        if (knn.K.Count == 0 || knn.K.Any(k => k < 1)) throw new ArgumentException("K needs at least one value >= 1.", nameof(knn));
        if (knn.Metrics.Count == 0) throw new ArgumentException("Metrics needs at least one value.", nameof(knn));
        string folder = experiment.DataRoot ?? throw new ArgumentException("DataRoot (the dataset folder) is required.", nameof(experiment));
        var loader = ImageClassificationExperiment.DefaultLoader(experiment.Dataset);
        if (Directory.Exists(Path.Combine(folder, experiment.Dataset)))
            folder = Path.Combine(folder, experiment.Dataset);
        var dataset = loader(folder, experiment.Classes is { Count: > 0 } c ? c : null);
        var classes = dataset.Classes;
        if (classes.Count < 2) throw new ArgumentException($"At least two classes are needed, got {classes.Count}.", nameof(experiment));
        var split = DataSplit.Stratified(dataset.Items, i => i.Label, experiment.ValidationFraction, 0, experiment.Seed);
        log?.Report($"{dataset.Items.Count} images, {classes.Count} classes; train {split.Train.Count}, validation {split.Validation.Count} (seed {experiment.Seed})");
        var testItems = experiment.TestData is null ? null : loader(Path.GetFullPath(experiment.TestData), classes).Items;

        Directory.CreateDirectory(experiment.OutputDirectory);
        string? temporary = null;
        try
        {
            var spec = ResolveBackbone(knn, experiment.OutputDirectory, log, out temporary);
            log?.Report($"Backbone {spec.Name}: {spec.EmbeddingSize} features, {spec.ImageSize} px");
            var all = split.Train.Concat(split.Validation).Concat(testItems ?? []).Select(i => i.Path).ToList();
            FeaturizationResult features;
            using (var featurizer = new BatchedFeaturizer(spec, new BatchedFeaturizerOptions
            {
                BatchSize = knn.BatchSize,
                CacheDirectory = knn.CacheDirectory,
                DecodeThreads = Math.Max(1, Environment.ProcessorCount / 2),
                Log = s => log?.Report(s),
            }))
            {
                features = featurizer.Featurize(all, knn.FeaturizeProgress is { } progress ? new CountProgress(progress, all.Count) : null);
            }
            double imagesPerSecond = features.Computed > 0 ? features.Computed / features.Elapsed.TotalSeconds : 0;
            log?.Report(string.Create(CultureInfo.InvariantCulture,
                $"Embeddings: {features.Count} images ({features.CacheHits} from the cache, {features.Computed} computed in {features.Elapsed.TotalSeconds:F1} s, {imagesPerSecond:F1} images/s)"));

            var ml = new MLContext(experiment.Seed);
            int dim = features.Dimension;
            var keyMap = KeyMapping(ml, classes);
            IDataView ToView(IReadOnlyList<ImageItem> items, int offset) =>
                keyMap.Transform(ml.Data.LoadFromEnumerable(items.Select((item, i) => new VectorRow
                {
                    ImagePath = item.Path,
                    Label = item.Label,
                    Features = features.Row(offset + i).ToArray(),
                }).ToList(), VectorSchema(dim)));
            var trainView = ml.Data.Cache(ToView(split.Train, 0));
            var validationView = ml.Data.Cache(ToView(split.Validation, split.Train.Count));
            var testView = testItems is null ? null : ml.Data.Cache(ToView(testItems, split.Train.Count + split.Validation.Count));
            var rawSchema = ml.Data.LoadFromEnumerable(Array.Empty<PathRow>()).Schema;
            var embeddings = ml.Transforms.ExtractEmbeddings(spec, ColumnNames.Features, ImageClassificationExperiment.ImagePathColumn)
                .Fit(ml.Data.LoadFromEnumerable(Array.Empty<PathRow>()));

            bool grid = knn.K.Count * knn.Metrics.Count > 1;
            var rows = new List<KnnGridRow>();
            foreach (var metric in knn.Metrics)
            {
                foreach (int k in knn.K)
                {
                    string outDir = grid
                        ? Path.Combine(experiment.OutputDirectory, string.Create(CultureInfo.InvariantCulture, $"{metric.ToString().ToLowerInvariant()}-k{k}"))
                        : experiment.OutputDirectory;
                    rows.Add(RunOne(ml, experiment, knn, spec, embeddings, rawSchema, classes, split, testItems, trainView, validationView, testView,
                        k, metric, outDir, features, imagesPerSecond, log));
                }
            }
            string table = ResultsTable(rows, spec, imagesPerSecond);
            if (grid)
            {
                AtomicFile.WriteAllBytes(Path.Combine(experiment.OutputDirectory, "results.md"), Encoding.UTF8.GetBytes(table));
                var csv = new StringBuilder("k,metric,accuracy,macro_f1,test_accuracy,knn_ms_per_image,folder\n");
                foreach (var r in rows)
                    csv.Append(CultureInfo.InvariantCulture, $"{r.K},{r.Metric.ToString().ToLowerInvariant()},{r.Accuracy:R},{r.MacroF1:R},{r.TestAccuracy:R},{r.MillisecondsPerImage:R},{Path.GetFileName(r.OutputDirectory)}\n");
                AtomicFile.WriteAllBytes(Path.Combine(experiment.OutputDirectory, "results.csv"), Encoding.UTF8.GetBytes(csv.ToString()));
            }
            return new KnnExperimentResult(rows, dim, imagesPerSecond, features.CacheHits, table);
        }
        finally
        {
            if (temporary is not null && File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>
    /// The backbone spec for <see cref="KnnExperimentOptions.Backbone"/>. For an m3-transfer MODEL.zip the embedded
    /// network is written to a temporary .onnx file (returned in <paramref name="temporaryFile"/>, for the caller to delete)
    /// and cut at its pooled features (<see cref="OnnxFeatureCut.FindPooledFeatures"/>); its input takes RGB pixels / 255
    /// at the model card's image size.
    /// </summary>
    /// <param name="knn">The options.</param>
    /// <param name="workFolder">Folder for the temporary file.</param>
    /// <param name="log">Receives a line about the cut.</param>
    /// <param name="temporaryFile">The temporary file written, or null.</param>
    /// <returns>The spec.</returns>
    public static BackboneSpec ResolveBackbone(KnnExperimentOptions knn, string workFolder, IProgress<string>? log, out string? temporaryFile)
    {
        ArgumentNullException.ThrowIfNull(knn);
        temporaryFile = null;
        string name = knn.Backbone.Trim();
        switch (name.ToLowerInvariant())
        {
            case "resnet18":
                return BackboneSpec.ResNet18();
            case "mobilenetv2":
                string[] folders = knn.ModelsFolder is not null
                    ? [knn.ModelsFolder]
                    : [.. new[] { Environment.GetEnvironmentVariable(KnnExperimentOptions.ModelsEnvironmentVariable), Path.Combine("..", "shared", "models") }.OfType<string>()];
                var path = folders.Select(f => Path.Combine(f, "mobilenetv2-12-int8.onnx")).FirstOrDefault(File.Exists)
                    ?? throw new FileNotFoundException($"mobilenetv2-12-int8.onnx was not found in {string.Join(" or ", folders)}; pass the .onnx path as the backbone.");
                return BackboneSpec.MobileNetV2(path);
        }
        if (!File.Exists(name)) throw new FileNotFoundException($"Backbone '{name}' is neither resnet18, mobilenetv2 nor an existing .onnx/.zip file.", name);
        if (name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            var card = ModelPackage.ReadCard(name);
            if (card.Grayscale) throw new ArgumentException($"'{name}' is a grayscale model; KNN embeddings need an RGB network (m3-transfer).", nameof(knn));
            var onnx = OnnxFeatureCut.ReadOnnxFromModelZip(name);
            var model = OnnxModelIO.Parse(onnx);
            OnnxFeatureCut.RemoveMirroredBatch(model); // a --tta model: embed the image as given
            var cut = OnnxFeatureCut.FindPooledFeatures(model);
            // The network's input is the zip's "Features" column, which the embedding chain writes: rename it.
            const string networkInput = "network_pixels";
            foreach (var input in model.Graph!.Inputs.Where(i => i.Name == card.FeatureColumn)) input.Name = networkInput;
            foreach (var node in model.Graph.Nodes)
                for (int i = 0; i < node.Inputs.Count; i++)
                    if (node.Inputs[i] == card.FeatureColumn) node.Inputs[i] = networkInput;
            Directory.CreateDirectory(workFolder);
            temporaryFile = Path.Combine(workFolder, $".network-{Environment.ProcessId}.onnx.tmp");
            File.WriteAllBytes(temporaryFile, model.ToBytes());
            log?.Report($"{name}: network cut before {cut.HeadNode} at '{cut.TensorName}' ({cut.Size} features)");
            return new BackboneSpec
            {
                Name = "finetuned:" + Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(name))),
                ModelPath = temporaryFile,
                InputName = networkInput,
                OutputName = cut.TensorName,
                CutAt = cut.TensorName,
                ImageSize = card.ImageSize,
                Normalization = new PixelNormalization { PixelScale = 1f / 255f },
                EmbeddingSize = cut.Size,
            };
        }
        var graph = OnnxModelIO.Load(name).Graph ?? throw new InvalidDataException($"'{name}' has no graph.");
        var output = graph.Outputs.Find(o => o.Name == knn.OutputName)
            ?? throw new ArgumentException($"'{name}' has no output '{knn.OutputName}' (outputs: {string.Join(", ", graph.Outputs.Select(o => o.Name))}); pass --output NAME.", nameof(knn));
        var dims = output.Type?.Shape?.Skip(1).Select(d => d.Value).ToList();
        if (dims is null || dims.Count == 0 || dims.Any(d => d is not > 0))
            throw new ArgumentException($"Output '{knn.OutputName}' of '{name}' has no fixed feature shape; export it with a static feature size.", nameof(knn));
        return new BackboneSpec
        {
            Name = Path.GetFileNameWithoutExtension(name),
            ModelPath = name,
            InputName = knn.InputName,
            OutputName = knn.OutputName,
            EmbeddingSize = checked((int)dims.Aggregate(1L, (a, d) => a * d!.Value)),
        };
    }

    private static KnnGridRow RunOne(MLContext ml, ExperimentOptions experiment, KnnExperimentOptions knn, BackboneSpec spec, ITransformer embeddings,
        DataViewSchema rawSchema, IReadOnlyList<string> classes, SplitResult<ImageItem> split, IReadOnlyList<ImageItem>? testItems,
        IDataView trainView, IDataView validationView, IDataView? testView, int k, KnnMetric metric, string outDir,
        FeaturizationResult features, double imagesPerSecond, IProgress<string>? log)
    {
        Directory.CreateDirectory(outDir);
        var trainer = ml.MulticlassClassification.Trainers.Knn(new KnnOptions
        {
            K = k,
            Metric = metric,
            Weighting = knn.Weighting,
            SourceColumnName = ImageClassificationExperiment.ImagePathColumn,
        });
        var fitWatch = Stopwatch.StartNew();
        var knnModel = trainer.Fit(trainView);
        fitWatch.Stop();

        // KNN time per image on the precomputed vectors (the C# engine, all validation rows in one call).
        var vectors = new float[split.Validation.Count * features.Dimension];
        for (int i = 0; i < split.Validation.Count; i++)
            features.Row(split.Train.Count + i).CopyTo(vectors.AsSpan(i * features.Dimension));
        var searchWatch = Stopwatch.StartNew();
        var enginePrediction = knnModel.Index.Predict(vectors, k, knn.Weighting);
        searchWatch.Stop();
        double knnMs = searchWatch.Elapsed.TotalMilliseconds / Math.Max(1, split.Validation.Count);

        var (validation, csv) = ImageClassificationExperiment.Evaluate(ml, knnModel, validationView, split.Validation, binary: false, classes);
        ClassificationReport? test = null;
        if (testView is not null && testItems is not null)
            (test, _) = ImageClassificationExperiment.Evaluate(ml, knnModel, testView, testItems, binary: false, classes);
        int engineAgree = 0;
        var predictedByChain = ReadPredicted(knnModel.Transform(validationView));
        for (int i = 0; i < predictedByChain.Count; i++) if (predictedByChain[i] == enginePrediction.Labels[i]) engineAgree++;

        var model = embeddings.Append(knnModel);
        string modelPath = Path.Combine(outDir, "model.zip");
        ModelPackage.Save(ml, model, rawSchema, new ModelCard
        {
            Task = "multiclass",
            Classes = classes.ToArray(),
            ImageSize = spec.ImageSize,
            Grayscale = false,
            ImagePathColumn = ImageClassificationExperiment.ImagePathColumn,
            FeatureColumn = ColumnNames.Features,
            Producer = "m3-knn",
        }, modelPath);
        knnModel.SaveIndex(Path.Combine(outDir, IndexFileName));

        // The saved chain (fresh MLContext, images → embeddings → KNN) must predict like the vectors did.
        int check = Math.Min(knn.ChainCheckImages, split.Validation.Count);
        int chainAgree = 0;
        double chainMs = 0;
        if (check > 0)
        {
            var fresh = new MLContext(seed: 0);
            var loaded = fresh.Model.Load(modelPath, out _);
            var sample = fresh.Data.LoadFromEnumerable(split.Validation.Take(check).Select(i => new PathRow { ImagePath = i.Path }).ToList());
            var chainWatch = Stopwatch.StartNew();
            var predicted = ReadPredicted(loaded.Transform(sample));
            chainWatch.Stop();
            chainMs = chainWatch.Elapsed.TotalMilliseconds / check;
            for (int i = 0; i < check; i++) if (predicted[i] == predictedByChain[i]) chainAgree++;
            if (chainAgree != check)
                log?.Report($"WARNING: the saved model.zip agrees with the embedding-cache predictions on {chainAgree} of {check} images.");
        }

        var metrics = new MetricsDocument
        {
            Validation = SplitMetrics.FromReport(validation),
            Test = test is null ? null : SplitMetrics.FromReport(test),
            TrainSeconds = fitWatch.Elapsed.TotalSeconds,
            TrainSamplesPerSecond = split.Train.Count / Math.Max(1e-9, fitWatch.Elapsed.TotalSeconds),
        };
        var x = metrics.Extra;
        x["producer"] = "m3-knn";
        x["dataset"] = experiment.Dataset;
        x["seed"] = experiment.Seed;
        x["validation_fraction"] = experiment.ValidationFraction;
        x["train_count"] = split.Train.Count;
        x["backbone"] = spec.Name;
        x["image_size"] = spec.ImageSize;
        x["embedding_size"] = features.Dimension;
        x["k"] = k;
        x["metric"] = metric.ToString().ToLowerInvariant();
        x["weighting"] = knn.Weighting.ToString().ToLowerInvariant();
        x["featurize_images_per_second"] = imagesPerSecond;
        x["featurize_cache_hits"] = features.CacheHits;
        x["knn_ms_per_image"] = knnMs;
        x["featurize_ms_per_image"] = imagesPerSecond > 0 ? 1000 / imagesPerSecond : 0;
        x["prediction_ms_per_image"] = (imagesPerSecond > 0 ? 1000 / imagesPerSecond : 0) + knnMs;
        x["chain_ms_per_image"] = chainMs;
        x["chain_check_images"] = check;
        x["chain_check_agree"] = chainAgree;
        x["engine_onnx_agree"] = engineAgree;
        MetricsJson.Write(Path.Combine(outDir, MetricsJson.FileName), metrics);
        AtomicFile.WriteAllBytes(Path.Combine(outDir, "predictions.csv"), Encoding.UTF8.GetBytes(csv));
        WriteConfusion(outDir, validation, log);
        string testText = test is null ? "" : string.Create(CultureInfo.InvariantCulture, $", test accuracy {test.Accuracy:P2}");
        log?.Report(string.Create(CultureInfo.InvariantCulture,
            $"k = {k}, {metric.ToString().ToLowerInvariant()}: validation accuracy {validation.Accuracy:P2}, macro F1 {validation.MacroF1:F4}{testText}; KNN {knnMs:F3} ms/image; saved chain {chainMs:F1} ms/image ({chainAgree}/{check} agree) -> {outDir}"));
        return new KnnGridRow(k, metric, validation.Accuracy, validation.MacroF1, test?.Accuracy, knnMs, outDir);
    }

    private static void WriteConfusion(string outDir, ClassificationReport report, IProgress<string>? log)
    {
        if (report.Classes.Count <= MaxHeatmapClasses)
        {
            ConfusionMatrixChart.Save(Path.Combine(outDir, "confusion-matrix.png"), report.ConfusionMatrix, report.Classes,
                $"Validation confusion matrix (accuracy {report.Accuracy:P2})");
            return;
        }
        // A 196 × 196 heatmap is unreadable: list the most confused pairs instead (the full matrix is in metrics.json).
        var pairs = new List<(int True, int Predicted, int Count)>();
        for (int t = 0; t < report.Classes.Count; t++)
            for (int p = 0; p < report.Classes.Count; p++)
                if (t != p && report[t, p] > 0) pairs.Add((t, p, report[t, p]));
        var sb = new StringBuilder("true,predicted,count\n");
        foreach (var (t, p, n) in pairs.OrderByDescending(q => q.Count).ThenBy(q => q.True).ThenBy(q => q.Predicted).Take(100))
            sb.Append(CultureInfo.InvariantCulture, $"\"{report.Classes[t].Replace("\"", "\"\"", StringComparison.Ordinal)}\",\"{report.Classes[p].Replace("\"", "\"\"", StringComparison.Ordinal)}\",{n}\n");
        AtomicFile.WriteAllBytes(Path.Combine(outDir, "most-confused.csv"), Encoding.UTF8.GetBytes(sb.ToString()));
        log?.Report($"{report.Classes.Count} classes: no confusion heatmap (unreadable); most-confused.csv lists the top pairs, metrics.json holds the matrix.");
    }

    private static List<int> ReadPredicted(IDataView scored)
    {
        var column = scored.Schema[ColumnNames.PredictedLabel];
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<uint>(column);
        var list = new List<int>();
        uint value = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            list.Add((int)value - 1);
        }
        return list;
    }

    private static string ResultsTable(IReadOnlyList<KnnGridRow> rows, BackboneSpec spec, double imagesPerSecond)
    {
        double best = rows.Max(r => r.Accuracy);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Backbone {spec.Name} ({spec.EmbeddingSize} features; featurisation {imagesPerSecond:F1} images/s)\n\n");
        sb.Append("| k | metric | validation accuracy | macro F1 | test accuracy | KNN ms/image |\n| --- | --- | --- | --- | --- | --- |\n");
        foreach (var r in rows)
        {
            string acc = r.Accuracy.ToString("P2", CultureInfo.InvariantCulture);
            if (r.Accuracy == best) acc = "**" + acc + "**";
            sb.Append(CultureInfo.InvariantCulture,
                $"| {r.K} | {r.Metric.ToString().ToLowerInvariant()} | {acc} | {r.MacroF1:F4} | {(r.TestAccuracy is double t ? t.ToString("P2", CultureInfo.InvariantCulture) : "–")} | {r.MillisecondsPerImage:F3} |\n");
        }
        return sb.ToString();
    }

    private static ITransformer KeyMapping(MLContext ml, IReadOnlyList<string> classes)
    {
        var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new KeyRow { Label = c }));
        return ml.Transforms.Conversion.MapValueToKey(ColumnNames.Label, keyData: keyData)
            .Fit(ml.Data.LoadFromEnumerable(Array.Empty<KeyRow>()));
    }

    private static SchemaDefinition VectorSchema(int dimension)
    {
        var schema = SchemaDefinition.Create(typeof(VectorRow));
        schema[nameof(VectorRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        return schema;
    }

    private sealed class KeyRow
    {
        public string Label { get; set; } = "";
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private sealed class VectorRow
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";

        public float[] Features { get; set; } = [];
    }

    private sealed class CountProgress(IProgress<(int Done, int Total)> target, int total) : IProgress<int>
    {
        public void Report(int value) => target.Report((value, total));
    }
}
