using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Backbones;
using MLPipelines.Data;
using MLPipelines.Knn;
using MLPipelines.Onnx;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Models;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Knn;
using MLPipelines.IO;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>Options of <see cref="Milestone3Knn"/>.</summary>
public sealed class KnnExperimentOptions
{
    /// <summary>
    /// The recipe <see cref="K"/> and <see cref="Metrics"/> default to: <see cref="MilestoneRecipe.Best"/> (k
    /// <see cref="Milestone3Knn.BestK"/>, cosine: the metric the retrieval-trained embeddings of <c>m3-transfer</c>'s cosine
    /// head are made for) or <see cref="MilestoneRecipe.Course"/> (k <see cref="Milestone3Knn.CourseK"/>, Euclidean: the
    /// course's scikit-learn KNeighborsClassifier). The default value is <see cref="MilestoneRecipe.Best"/>.
    /// </summary>
    public MilestoneRecipe Recipe { get; set; } = MilestoneRecipe.Best;

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

    /// <summary>Folder searched for mobilenetv2-12-int8.onnx; null uses $MLPIPELINES_MODELS (<see cref="ModelLocator"/>). The default value is null.</summary>
    public string? ModelsFolder { get; set; }

    /// <summary>Neighbour counts; more than one value (or more than one metric) runs a grid; null for the recipe's. The default value is null.</summary>
    public IReadOnlyList<int>? K { get; set; }

    /// <summary>Distance metrics; null for the recipe's. The default value is null.</summary>
    public IReadOnlyList<KnnMetric>? Metrics { get; set; }

    /// <summary>The K values of the retrieval Recall@K written beside the KNN accuracy. The default value is [1, 5].</summary>
    public IReadOnlyList<int> RecallAt { get; set; } = [1, 5];

    /// <summary>
    /// Whether each image's embedding is the mean of its own and its horizontal mirror's (<see cref="BackboneSpec.MirrorAverage"/>,
    /// for the training images as for the queries and inside the saved model.zip; twice the featurisation cost); null for
    /// the recipe's (best: true, the retrieval counterpart of m3-transfer's mirrored test-time augmentation; course: false).
    /// The default value is null.
    /// </summary>
    public bool? MirrorEmbeddings { get; set; }

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

/// <summary>Columns <c>k</c> and <c>metric</c> of a run, as the recipe and the caller's overrides decide them.</summary>
/// <param name="K">Neighbour counts.</param>
/// <param name="Metrics">Distance metrics.</param>
public sealed record KnnGrid(IReadOnlyList<int> K, IReadOnlyList<KnnMetric> Metrics);

/// <summary>Result of <see cref="Milestone3Knn.Run"/>.</summary>
/// <param name="Rows">One row per (k, metric), in run order.</param>
/// <param name="EmbeddingSize">Features per image.</param>
/// <param name="FeaturizeImagesPerSecond">Images per second of the featurizer over the images it computed (0 when all came from the cache).</param>
/// <param name="CacheHits">Embeddings read from the cache.</param>
/// <param name="ResultsTable">The markdown table of the grid (also written to results.md when there is more than one row).</param>
/// <param name="Retrieval">Recall@K and mAP of the validation images as queries against the training images (cosine).</param>
public sealed record KnnExperimentResult(IReadOnlyList<KnnGridRow> Rows, int EmbeddingSize, double FeaturizeImagesPerSecond, int CacheHits, string ResultsTable,
    RetrievalScores? Retrieval = null);

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

    /// <summary>k of <see cref="MilestoneRecipe.Best"/> (with the cosine metric).</summary>
    public const int BestK = 10;

    /// <summary>k of <see cref="MilestoneRecipe.Course"/> (with the Euclidean metric): the course's KNN on fine-tuned embeddings used k = 10.</summary>
    public const int CourseK = 10;

    /// <summary>Whether a run averages each embedding with its mirror's: <see cref="KnnExperimentOptions.MirrorEmbeddings"/> when set, else the recipe's (best: yes).</summary>
    /// <param name="knn">The options.</param>
    /// <returns>True to mirror-average.</returns>
    public static bool ResolveMirror(KnnExperimentOptions knn)
    {
        ArgumentNullException.ThrowIfNull(knn);
        return knn.MirrorEmbeddings ?? knn.Recipe == MilestoneRecipe.Best;
    }

    /// <summary>The k values and metrics of a run: the options' when set, else <paramref name="knn"/>'s recipe's.</summary>
    /// <param name="knn">The options.</param>
    /// <returns>The grid.</returns>
    public static KnnGrid ResolveGrid(KnnExperimentOptions knn)
    {
        ArgumentNullException.ThrowIfNull(knn);
        bool best = knn.Recipe switch
        {
            MilestoneRecipe.Best => true,
            MilestoneRecipe.Course => false,
            _ => throw new ArgumentException($"Recipe {knn.Recipe} is not Course or Best.", nameof(knn)),
        };
        var k = knn.K ?? [best ? BestK : CourseK];
        var metrics = knn.Metrics ?? [best ? KnnMetric.Cosine : KnnMetric.Euclidean];
        if (k.Count == 0 || k.Any(v => v < 1)) throw new ArgumentException("K needs at least one value >= 1.", nameof(knn));
        if (metrics.Count == 0) throw new ArgumentException("Metrics needs at least one value.", nameof(knn));
        if (knn.RecallAt is null || knn.RecallAt.Count == 0 || knn.RecallAt.Any(v => v < 1))
            throw new ArgumentException("RecallAt needs at least one value >= 1.", nameof(knn));
        return new KnnGrid(k, metrics);
    }

    /// <summary>Runs the milestone.</summary>
    /// <param name="experiment">Data, split and output options (as for every milestone: <see cref="ExperimentData.Load"/>).</param>
    /// <param name="knn">Backbone and KNN options.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <returns>The grid of results.</returns>
    public static KnnExperimentResult Run(ExperimentOptions experiment, KnnExperimentOptions knn, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(knn);
        var gridSpec = ResolveGrid(knn);
        var run = experiment.Clone();
        run.Grayscale = false;
        var data = ExperimentData.Load(run);
        var split = data.Split;
        foreach (var note in data.Notes)
            log?.Report(note);
        log?.Report($"{data.Items.Count} images, {data.Classes.Count} classes; train {split.Train.Count}, validation {split.Validation.Count} (seed {run.Seed})");

        using var outputLock = FolderLock.Acquire(run.OutputDirectory); // the whole grid: a second run into it fails at once
        Directory.CreateDirectory(run.OutputDirectory);
        string? temporary = null;
        try
        {
            var spec = ResolveBackbone(knn, run.OutputDirectory, log, out temporary) with { MirrorAverage = ResolveMirror(knn) };
            log?.Report($"Backbone {spec.Name}: {spec.EmbeddingSize} features, {spec.ImageSize} px{(spec.MirrorAverage ? ", each embedding averaged with its mirror image's" : "")}");
            var all = split.Train.Concat(split.Validation).Concat(data.TestItems ?? []).Select(i => i.Path).ToList();
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

            var ml = new MLContext(run.Seed);
            int dim = features.Dimension;
            var labels = new LabelEncoding(ml, data.Classes, binary: false);
            IDataView ToView(IReadOnlyList<ImageItem> items, int offset) =>
                labels.ToKey(ml.Data.LoadFromEnumerable(items.Select((item, i) => new VectorRow
                {
                    ImagePath = item.Path,
                    Label = item.Label,
                    Features = features.Row(offset + i).ToArray(),
                }).ToList(), VectorSchema(dim)));
            var views = new KnnViews(
                ml.Data.Cache(ToView(split.Train, 0)),
                ml.Data.Cache(ToView(split.Validation, split.Train.Count)),
                data.TestItems is { } testItems ? ml.Data.Cache(ToView(testItems, split.Train.Count + split.Validation.Count)) : null);
            var embeddings = ml.Transforms.ExtractEmbeddings(spec, ColumnNames.Features, ImageClassificationExperiment.ImagePathColumn)
                .Fit(ml.Data.LoadFromEnumerable(Array.Empty<PathRow>()));
            var retrieval = Retrieval(features, (split.Train, split.Validation), dim, knn.RecallAt);
            log?.Report(RetrievalLine(retrieval));
            var shared = new KnnRunContext(ml, run, knn, data, spec, embeddings, views, features, imagesPerSecond, log, retrieval);

            bool grid = gridSpec.K.Count * gridSpec.Metrics.Count > 1;
            var rows = new List<KnnGridRow>();
            foreach (var metric in gridSpec.Metrics)
            {
                foreach (int k in gridSpec.K)
                {
                    string outDir = grid
                        ? Path.Combine(run.OutputDirectory, string.Create(CultureInfo.InvariantCulture, $"{metric.ToString().ToLowerInvariant()}-k{k}"))
                        : run.OutputDirectory;
                    using var folder = new RunFolder(outDir);
                    rows.Add(RunOne(shared, k, metric, folder));
                    folder.Commit("m3-knn");
                }
            }
            string table = ResultsTable(rows, spec, imagesPerSecond) + "\n" + RetrievalLine(retrieval) + "\n";
            if (grid)
            {
                using var folder = new RunFolder(run.OutputDirectory);
                folder.WriteText("results.md", table);
                var csv = new StringBuilder("k,metric,accuracy,macro_f1,test_accuracy,knn_ms_per_image,folder\n");
                foreach (var r in rows)
                    csv.Append(CultureInfo.InvariantCulture, $"{r.K},{r.Metric.ToString().ToLowerInvariant()},{r.Accuracy:R},{r.MacroF1:R},{r.TestAccuracy:R},{r.MillisecondsPerImage:R},{Path.GetFileName(r.OutputDirectory)}\n");
                folder.WriteText("results.csv", csv.ToString());
                folder.Commit("m3-knn");
            }
            return new KnnExperimentResult(rows, dim, imagesPerSecond, features.CacheHits, table, retrieval);
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
                return BackboneSpec.MobileNetV2(ModelLocator.Find("mobilenetv2-12-int8.onnx", knn.ModelsFolder));
        }
        if (!File.Exists(name)) throw new FileNotFoundException($"Backbone '{name}' is neither resnet18, mobilenetv2 nor an existing .onnx/.zip file.", name);
        bool zip = name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
        if (!zip && !name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"Backbone '{name}' is not an .onnx network or an MLPipelines model .zip (nor resnet18 or mobilenetv2).", nameof(KnnExperimentOptions.Backbone));
        try
        {
            return ResolveBackboneFile(knn, name, zip, workFolder, log, ref temporaryFile);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or IndexOutOfRangeException or OverflowException or NotSupportedException
                                      && !e.Message.Contains(name, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Backbone '{name}' cannot be read as {(zip ? "a model zip" : "an ONNX model")}: {e.Message}", e);
        }
    }

    private static BackboneSpec ResolveBackboneFile(KnnExperimentOptions knn, string name, bool zip, string workFolder, IProgress<string>? log, ref string? temporaryFile)
    {
        if (zip)
        {
            var card = ModelPackage.ReadCard(name);
            if (card.Grayscale) throw new ArgumentException($"'{name}' is a grayscale model; KNN embeddings need an RGB network (m3-transfer).", nameof(knn));
            var onnx = OnnxFeatureCut.ReadOnnxFromModelZip(name);
            var model = OnnxModelIO.Parse(onnx);
            OnnxFeatureCut.RemoveMirroredBatch(model); // a --tta model: embed the image as given
            var cut = OnnxFeatureCut.FindPooledFeatures(model);
            // The network's input is the zip's "Features" column, which the embedding chain writes: rename it.
            const string networkInput = "network_pixels";
            OnnxFeatureCut.RenameInput(model, card.FeatureColumn, networkInput);
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

    /// <summary>What every grid cell of one run shares: the data, the backbone, the embeddings and their views.</summary>
    private sealed record KnnRunContext(MLContext Ml, ExperimentOptions Experiment, KnnExperimentOptions Knn, ExperimentData Data, BackboneSpec Spec,
        ITransformer Embeddings, KnnViews Views, FeaturizationResult Features, double FeaturizeImagesPerSecond, IProgress<string>? Log,
        RetrievalScores Retrieval);

    /// <summary>Recall@K and mAP of the validation embeddings (queries) against the training embeddings (gallery), cosine.</summary>
    private static RetrievalScores Retrieval(FeaturizationResult features, (IReadOnlyList<ImageItem> Train, IReadOnlyList<ImageItem> Validation) split, int dim, IReadOnlyList<int> recallAt)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int Id(ImageItem item) => ids.TryGetValue(item.Label, out int id) ? id : ids[item.Label] = ids.Count;
        var gallery = new float[split.Train.Count * dim];
        for (int i = 0; i < split.Train.Count; i++)
            features.Row(i).CopyTo(gallery.AsSpan(i * dim));
        var queries = new float[split.Validation.Count * dim];
        for (int i = 0; i < split.Validation.Count; i++)
            features.Row(split.Train.Count + i).CopyTo(queries.AsSpan(i * dim));
        return RetrievalMetrics.Cosine(gallery, split.Train.Select(Id).ToList(), queries, split.Validation.Select(Id).ToList(), dim, recallAt);
    }

    private static string RetrievalLine(RetrievalScores r) =>
        "Retrieval (validation queries against the training images, cosine): "
        + string.Join(", ", r.RecallAt.Select(p => string.Create(CultureInfo.InvariantCulture, $"Recall@{p.Key} {p.Value:P2}")))
        + string.Create(CultureInfo.InvariantCulture, $", mAP {r.MeanAveragePrecision:P2} ({r.QueryCount} queries)");

    /// <summary>The embedded training, validation and (optional) test rows.</summary>
    private sealed record KnnViews(IDataView Train, IDataView Validation, IDataView? Test);

    private static KnnGridRow RunOne(KnnRunContext c, int k, KnnMetric metric, RunFolder output)
    {
        var (ml, split, classes, features) = (c.Ml, c.Data.Split, c.Data.Classes, c.Features);
        var trainer = ml.MulticlassClassification.Trainers.Knn(new KnnOptions
        {
            K = k,
            Metric = metric,
            Weighting = c.Knn.Weighting,
            SourceColumnName = ImageClassificationExperiment.ImagePathColumn,
        });
        var fitWatch = Stopwatch.StartNew();
        var knnModel = trainer.Fit(c.Views.Train);
        fitWatch.Stop();

        // KNN time per image on the precomputed vectors (the C# engine, all validation rows in one call).
        var vectors = new float[split.Validation.Count * features.Dimension];
        for (int i = 0; i < split.Validation.Count; i++)
            features.Row(split.Train.Count + i).CopyTo(vectors.AsSpan(i * features.Dimension));
        var searchWatch = Stopwatch.StartNew();
        var enginePrediction = knnModel.Index.Predict(vectors, k, c.Knn.Weighting);
        searchWatch.Stop();
        double knnMs = searchWatch.Elapsed.TotalMilliseconds / Math.Max(1, split.Validation.Count);

        var (validation, csv) = ImageClassificationExperiment.Evaluate(ml, knnModel, c.Views.Validation, split.Validation, binary: false, classes);
        ClassificationReport? test = null;
        if (c.Views.Test is not null && c.Data.TestItems is not null)
            (test, _) = ImageClassificationExperiment.Evaluate(ml, knnModel, c.Views.Test, c.Data.TestItems, binary: false, classes);
        int engineAgree = 0;
        var predictedByChain = ReadPredicted(knnModel.Transform(c.Views.Validation));
        for (int i = 0; i < predictedByChain.Count; i++) if (predictedByChain[i] == enginePrediction.Labels[i]) engineAgree++;

        var card = ModelCard.ForImages(classes, c.Spec.ImageSize, grayscale: false, producer: "m3-knn");
        card.Task = "multiclass";
        string modelPath = output.SaveModel(ml, c.Embeddings.Append(knnModel), ml.Data.LoadFromEnumerable(Array.Empty<PathRow>()).Schema, card);
        string indexPath = output.PathOf(IndexFileName);
        knnModel.SaveIndex(indexPath);
        output.Add(indexPath);

        // The saved chain (fresh MLContext, images → embeddings → KNN) must predict like the vectors did.
        int check = Math.Min(c.Knn.ChainCheckImages, split.Validation.Count);
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
                c.Log?.Report($"WARNING: the saved model.zip agrees with the embedding-cache predictions on {chainAgree} of {check} images.");
        }

        var metrics = new MetricsDocument
        {
            Validation = SplitMetrics.FromReport(validation),
            Test = test is null ? null : SplitMetrics.FromReport(test),
            TrainSeconds = fitWatch.Elapsed.TotalSeconds,
            TrainSamplesPerSecond = split.Train.Count / Math.Max(1e-9, fitWatch.Elapsed.TotalSeconds),
        };
        double featurizeMs = c.FeaturizeImagesPerSecond > 0 ? 1000 / c.FeaturizeImagesPerSecond : 0;
        RunFolder.AddDetails(metrics, new Dictionary<string, object>
        {
            ["producer"] = "m3-knn",
            ["dataset"] = c.Data.Name,
            ["seed"] = c.Experiment.Seed,
            ["validation_fraction"] = c.Experiment.ValidationFraction,
            ["train_count"] = split.Train.Count,
            ["backbone"] = c.Spec.Name,
            ["image_size"] = c.Spec.ImageSize,
            ["embedding_size"] = features.Dimension,
            ["k"] = k,
            ["metric"] = metric.ToString().ToLowerInvariant(),
            ["weighting"] = c.Knn.Weighting.ToString().ToLowerInvariant(),
            ["mirror_embeddings"] = c.Spec.MirrorAverage,
            ["featurize_images_per_second"] = c.FeaturizeImagesPerSecond,
            ["featurize_cache_hits"] = features.CacheHits,
            ["knn_ms_per_image"] = knnMs,
            ["featurize_ms_per_image"] = featurizeMs,
            ["prediction_ms_per_image"] = featurizeMs + knnMs,
            ["chain_ms_per_image"] = chainMs,
            ["chain_check_images"] = check,
            ["chain_check_agree"] = chainAgree,
            ["engine_onnx_agree"] = engineAgree,
            ["peak_rss_mb"] = ProcessMemory.PeakResidentMegabytes(),
            ["recipe"] = c.Knn.Recipe.ToString().ToLowerInvariant(),
            ["retrieval_map"] = c.Retrieval.MeanAveragePrecision,
            ["retrieval_queries"] = c.Retrieval.QueryCount,
        });
        foreach (var (at, recall) in c.Retrieval.RecallAt)
            metrics.Extra[string.Create(CultureInfo.InvariantCulture, $"recall_at_{at}")] = recall;
        output.WriteMetrics(metrics);
        output.WritePredictions(csv);
        output.WriteConfusion(validation, c.Log);
        string testText = test is null ? "" : string.Create(CultureInfo.InvariantCulture, $", test accuracy {test.Accuracy:P2}");
        c.Log?.Report(string.Create(CultureInfo.InvariantCulture,
            $"k = {k}, {metric.ToString().ToLowerInvariant()}: validation accuracy {validation.Accuracy:P2}, macro F1 {validation.MacroF1:F4}{testText}; KNN {knnMs:F3} ms/image; saved chain {chainMs:F1} ms/image ({chainAgree}/{check} agree) -> {output.Directory}"));
        return new KnnGridRow(k, metric, validation.Accuracy, validation.MacroF1, test?.Accuracy, knnMs, output.Directory);
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

    private static SchemaDefinition VectorSchema(int dimension)
    {
        var schema = SchemaDefinition.Create(typeof(VectorRow));
        schema[nameof(VectorRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        return schema;
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
