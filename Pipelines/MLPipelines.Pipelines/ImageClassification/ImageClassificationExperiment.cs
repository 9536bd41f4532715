using MLPipelines.IO;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLPipelines.Data;
using MLPipelines.Pipelines.Models;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Trainers;
using MLPipelines.Trainers.OnnxModel;

namespace MLPipelines.Pipelines.ImageClassification;

/// <summary>Options shared by the image-classification milestones (dataset, split, preprocessing, outputs).</summary>
public sealed class ExperimentOptions
{
    /// <summary>Data root (holding the dataset folder) or the dataset folder itself; null uses MLPIPELINES_DATA. The default value is null.</summary>
    public string? DataRoot { get; set; }

    /// <summary>Dataset folder name under the data root (e.g. "sign-language-digits" or "stanford-cars"). The default value is "sign-language-digits".</summary>
    public string Dataset { get; set; } = SignLanguageDigits.FolderName;

    /// <summary>
    /// Reads the items of the dataset folder (and of <see cref="TestData"/>); null picks the loader by
    /// <see cref="Dataset"/> (<see cref="ImageClassificationExperiment.DefaultLoader"/>). The default value is null.
    /// </summary>
    public ImageDatasetLoader? Loader { get; set; }

    /// <summary>Classes to use (folder names); null or empty for all. The default value is null.</summary>
    public IReadOnlyList<string>? Classes { get; set; }

    /// <summary>Side of the square images fed to the network. The default value is 28.</summary>
    public int ImageSize { get; set; } = 28;

    /// <summary>Convert images to grayscale. The default value is true.</summary>
    public bool Grayscale { get; set; } = true;

    /// <summary>Standardise every pixel to zero mean and unit variance over the training images (stock NormalizeMeanVariance with fixZero false, so it centres). The default value is true.</summary>
    public bool Standardize { get; set; } = true;

    /// <summary>Stratified fraction of the images held out for validation. The default value is 0.2.</summary>
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>Seed of the split (and, through the trainer, of training). The default value is 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Folder receiving model.zip, metrics.json, plots and predictions.csv. The default value is "runs/m1".</summary>
    public string OutputDirectory { get; set; } = Path.Combine("runs", "m1");

    /// <summary>Optional separate image folder (same layout) evaluated as the test split. The default value is null.</summary>
    public string? TestData { get; set; }

    /// <summary>Name recorded in the model card (the command that produced the model). The default value is "m1".</summary>
    public string Producer { get; set; } = "m1";

    /// <summary>A shallow copy of these options.</summary>
    public ExperimentOptions Clone() => (ExperimentOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (ImageSize < 4 || ImageSize > 1024)
            throw new ArgumentException($"ImageSize must be in [4, 1024], got {ImageSize}.", nameof(ImageSize));
        if (!(ValidationFraction > 0 && ValidationFraction < 1))
            throw new ArgumentException($"ValidationFraction must be in (0, 1), got {ValidationFraction}.", nameof(ValidationFraction));
        if (string.IsNullOrWhiteSpace(OutputDirectory))
            throw new ArgumentException("OutputDirectory must be a folder path.", nameof(OutputDirectory));
    }
}

/// <summary>Reads a labelled image dataset from its folder.</summary>
/// <param name="folder">The dataset folder.</param>
/// <param name="classes">Classes to keep, in this order; null for all.</param>
public delegate ImageFolderDataset ImageDatasetLoader(string folder, IReadOnlyList<string>? classes);

/// <summary>What a trainer hands back to the experiment: the fitted transformer and its training history.</summary>
/// <param name="Model">The fitted classifier (reads the Features column).</param>
/// <param name="History">Per-epoch loss and accuracy.</param>
/// <param name="BestEpoch">Epoch whose weights were kept (early stopping), or null.</param>
/// <param name="TrainSeconds">Seconds spent training.</param>
/// <param name="SamplesPerSecond">Training throughput.</param>
public sealed record TrainedClassifier(ITransformer Model, IReadOnlyList<EpochPoint> History, int? BestEpoch, double TrainSeconds, double SamplesPerSecond)
{
    /// <summary>Extra entries for metrics.json (e.g. the optimiser, the device, seconds per epoch); keys in snake_case.</summary>
    public IReadOnlyDictionary<string, object>? Details { get; init; }
}

/// <summary>Trains a classifier on preprocessed training and validation data (Label: Boolean when binary, key otherwise).</summary>
/// <param name="train">Training rows with Label and Features.</param>
/// <param name="validation">Validation rows with Label and Features.</param>
/// <param name="binary">True for a two-class task.</param>
/// <param name="classes">Class names (index 1 is the positive class when binary).</param>
public delegate TrainedClassifier ClassifierTraining(IDataView train, IDataView validation, bool binary, IReadOnlyList<string> classes);

/// <summary>Everything a finished run produced.</summary>
/// <param name="Metrics">The metrics document written to metrics.json.</param>
/// <param name="Validation">Validation report.</param>
/// <param name="Test">Test report when test data was given.</param>
/// <param name="OutputDirectory">Folder holding the outputs.</param>
/// <param name="Files">Paths of the files written.</param>
public sealed record ExperimentResult(MetricsDocument Metrics, ClassificationReport Validation, ClassificationReport? Test, string OutputDirectory, IReadOnlyList<string> Files);

/// <summary>
/// The image-classification experiment behind the milestone commands: dataset (image folders, Stanford Cars CSV,
/// or any <see cref="ImageDatasetLoader"/>) → stratified split → ML.NET image transforms (load, resize to any square
/// size, RGB or grayscale, pixels/255, optional standardisation) → a classifier →
/// evaluation with ML.NET's evaluators and the project's report → model.zip, metrics.json, plots, predictions.csv.
/// </summary>
public static class ImageClassificationExperiment
{
    /// <summary>Model input column holding image paths.</summary>
    public const string ImagePathColumn = "ImagePath";

    /// <summary>Runs the experiment.</summary>
    /// <param name="options">Dataset, split and output options.</param>
    /// <param name="training">Trains the classifier on the preprocessed data.</param>
    /// <param name="log">Receives one line per stage.</param>
    public static ExperimentResult Run(ExperimentOptions options, ClassifierTraining training, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(training);
        options.Validate();
        var folder = DatasetLocator.ResolveDataset(options.Dataset, options.DataRoot);
        var classFilter = options.Classes is { Count: > 0 } ? options.Classes : null;
        var loader = options.Loader ?? DefaultLoader(options.Dataset);
        var dataset = loader(folder, classFilter);
        return Run(options, dataset.Items, dataset.Classes, training, log);
    }

    /// <summary>
    /// Runs the experiment on images that are already listed (e.g. by a custom loader), instead of resolving
    /// <see cref="ExperimentOptions.DataRoot"/>/<see cref="ExperimentOptions.Dataset"/>; <see cref="ExperimentOptions.Classes"/>
    /// is not used.
    /// </summary>
    /// <param name="options">Split, preprocessing and output options.</param>
    /// <param name="items">The images and their labels.</param>
    /// <param name="classes">Class names in label order (index 1 is the positive class when there are two).</param>
    /// <param name="training">Trains the classifier on the preprocessed data.</param>
    /// <param name="log">Receives one line per stage.</param>
    /// <param name="testItems">Images of a separate test split, or null (then <see cref="ExperimentOptions.TestData"/> is loaded with the dataset's loader when set).</param>
    public static ExperimentResult Run(ExperimentOptions options, IReadOnlyList<ImageItem> items, IReadOnlyList<string> classes,
        ClassifierTraining training, IProgress<string>? log = null, IReadOnlyList<ImageItem>? testItems = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(training);
        options.Validate();
        if (classes.Count < 2)
            throw new ArgumentException($"At least two classes are needed, got {classes.Count}.", nameof(classes));
        var ml = new MLContext(options.Seed);
        var binary = classes.Count == 2;
        var split = DataSplit.Stratified(items, i => i.Label, options.ValidationFraction, 0, options.Seed);
        log?.Report($"{items.Count} images, {classes.Count} classes ({Abbreviate(classes)}); " +
                    $"train {split.Train.Count}, validation {split.Validation.Count}");

        var labels = new LabelEncoding(ml, classes, binary);
        var trainRaw = labels.ToDataView(split.Train);
        var validationRaw = labels.ToDataView(split.Validation);

        var preprocessing = CreatePreprocessing(ml, options);
        var stopwatch = new Stopwatch();
        var (pre, trained) = NamingCorruptImages(items, () =>
        {
            log?.Report("Fitting preprocessing (decoding images)");
            var pre = preprocessing.Fit(trainRaw);
            var trainFeatures = CacheWithoutImages(ml, pre.Transform(trainRaw));
            var validationFeatures = CacheWithoutImages(ml, pre.Transform(validationRaw));
            log?.Report("Training");
            stopwatch.Start();
            var trained = training(trainFeatures, validationFeatures, binary, classes);
            stopwatch.Stop();
            return (pre, trained);
        });
        var model = pre.Append(trained.Model);

        Directory.CreateDirectory(options.OutputDirectory);
        var files = new List<string>();
        var modelPath = Path.Combine(options.OutputDirectory, "model.zip");
        var card = new ModelCard
        {
            Task = binary ? "binary" : "multiclass",
            Classes = classes.ToArray(),
            ImageSize = options.ImageSize,
            Grayscale = options.Grayscale,
            ImagePathColumn = ImagePathColumn,
            FeatureColumn = ColumnNames.Features,
            Producer = options.Producer,
        };
        ModelPackage.Save(ml, model, trainRaw.Schema, card, modelPath);
        files.Add(modelPath);

        log?.Report("Evaluating");
        var (validation, validationRows) = Evaluate(ml, model, validationRaw, split.Validation, binary, classes);
        ClassificationReport? test = null;
        var testList = testItems ?? (options.TestData is not null
            ? (options.Loader ?? DefaultLoader(options.Dataset))(Path.GetFullPath(options.TestData), classes).Items
            : null);
        if (testList is not null)
        {
            var testRaw = labels.ToDataView(testList);
            (test, _) = Evaluate(ml, model, testRaw, testList, binary, classes);
        }

        var metrics = new MetricsDocument
        {
            Validation = SplitMetrics.FromReport(validation),
            Test = test is null ? null : SplitMetrics.FromReport(test),
            TrainSeconds = trained.TrainSeconds,
            TrainSamplesPerSecond = trained.SamplesPerSecond,
        };
        metrics.Extra["producer"] = options.Producer;
        metrics.Extra["dataset"] = options.Dataset;
        metrics.Extra["image_size"] = options.ImageSize;
        metrics.Extra["channels"] = options.Grayscale ? 1 : 3;
        metrics.Extra["standardize"] = options.Standardize;
        metrics.Extra["seed"] = options.Seed;
        metrics.Extra["train_count"] = split.Train.Count;
        metrics.Extra["epochs_run"] = trained.History.Count;
        if (trained.BestEpoch is int best)
            metrics.Extra["best_epoch"] = best;
        metrics.Extra["wall_seconds"] = stopwatch.Elapsed.TotalSeconds;
        foreach (var (key, value) in trained.Details ?? new Dictionary<string, object>())
            metrics.Extra[key] = value switch
            {
                int v => System.Text.Json.Nodes.JsonValue.Create(v),
                long v => System.Text.Json.Nodes.JsonValue.Create(v),
                double v => System.Text.Json.Nodes.JsonValue.Create(v),
                bool v => System.Text.Json.Nodes.JsonValue.Create(v),
                _ => System.Text.Json.Nodes.JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
            };

        var metricsPath = Path.Combine(options.OutputDirectory, MetricsJson.FileName);
        MetricsJson.Write(metricsPath, metrics);
        files.Add(metricsPath);
        files.AddRange(WritePlots(options.OutputDirectory, trained, validation));
        var predictionsPath = Path.Combine(options.OutputDirectory, "predictions.csv");
        AtomicFile.WriteAllBytes(predictionsPath, Encoding.UTF8.GetBytes(validationRows));
        files.Add(predictionsPath);
        return new ExperimentResult(metrics, validation, test, options.OutputDirectory, files);
    }

    /// <summary>Runs <paramref name="work"/>; if it fails, reports the first undecodable image by name (ML.NET's error does not say which).</summary>
    private static T NamingCorruptImages<T>(IReadOnlyList<ImageItem> items, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException && e is not InvalidDataException)
        {
            var bad = ImagePreprocessing.FindUndecodable(items.Select(i => i.Path).ToList(), 0, out var reason);
            if (bad is not null)
                throw new InvalidDataException(reason, e);
            throw;
        }
    }

    /// <summary>
    /// The loader for a dataset folder name: <see cref="StanfordCars.Load"/> for "stanford-cars" (CSV or
    /// image-folder form), <see cref="ImageFolderDataset.Load"/> (one folder per class) otherwise.
    /// </summary>
    /// <param name="dataset">Dataset folder name.</param>
    public static ImageDatasetLoader DefaultLoader(string dataset) =>
        string.Equals(dataset, StanfordCars.FolderName, StringComparison.OrdinalIgnoreCase)
            ? (folder, classes) => StanfordCars.Load(folder, classes)
            : (folder, classes) => ImageFolderDataset.Load(folder, classes);

    /// <summary>[C, H, W] of the feature vector the preprocessing produces for <paramref name="options"/>.</summary>
    /// <param name="options">The experiment options.</param>
    public static int[] ImageShape(ExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return [options.Grayscale ? 1 : 3, options.ImageSize, options.ImageSize];
    }

    /// <summary>
    /// Caches the preprocessed rows without the decoded-image columns: ML.NET's cache would otherwise keep every
    /// full-size bitmap alive (gigabytes for a few thousand photos) beside the pixel vectors the trainer reads.
    /// </summary>
    private static IDataView CacheWithoutImages(MLContext ml, IDataView view)
    {
        var images = view.Schema.Where(c => c.Type is ImageDataViewType).Select(c => c.Name).Distinct().ToArray();
        if (images.Length > 0)
            view = ml.Transforms.DropColumns(images).Fit(view).Transform(view);
        return ml.Data.Cache(view);
    }

    private static string Abbreviate(IReadOnlyList<string> classes) =>
        classes.Count <= 12 ? string.Join(", ", classes) : string.Join(", ", classes.Take(5)) + $", ... {classes[^1]}";

    /// <summary>The ML.NET preprocessing chain: image transforms, then (optionally) mean-variance standardisation.</summary>
    public static IEstimator<ITransformer> CreatePreprocessing(MLContext ml, ExperimentOptions options)
    {
        var images = ImagePreprocessing.Create(ml, new ImagePreprocessingOptions
        {
            InputColumnName = ImagePathColumn,
            OutputColumnName = ColumnNames.Features,
            ImageSize = options.ImageSize,
            Grayscale = options.Grayscale,
        });
        return options.Standardize
            ? images.Append(ml.Transforms.NormalizeMeanVariance(ColumnNames.Features, fixZero: false))
            : images;
    }

    private static IEnumerable<string> WritePlots(string folder, TrainedClassifier trained, ClassificationReport validation)
    {
        var loss = Path.Combine(folder, "loss-curve.png");
        var accuracy = Path.Combine(folder, "accuracy-curve.png");
        TrainingCurves.Save(loss, accuracy, trained.History, trained.BestEpoch);
        var confusion = Path.Combine(folder, "confusion-matrix.png");
        ConfusionMatrixChart.Save(confusion, validation.ConfusionMatrix, validation.Classes,
            $"Validation confusion matrix (accuracy {validation.Accuracy:P2})");
        return [loss, accuracy, confusion];
    }

    /// <summary>
    /// Scores <paramref name="raw"/> with <paramref name="model"/>, checks ML.NET's evaluator accepts the output
    /// schema, and builds the project's report (confusion matrix, loss) plus predictions.csv rows.
    /// </summary>
    internal static (ClassificationReport Report, string Csv) Evaluate(
        MLContext ml, ITransformer model, IDataView raw, IReadOnlyList<ImageItem> items, bool binary, IReadOnlyList<string> classes)
    {
        var scored = model.Transform(raw);
        var truth = new List<int>();
        var predicted = new List<int>();
        var probabilities = new List<IReadOnlyList<float>>();
        double evaluatorAccuracy;
        if (binary)
        {
            evaluatorAccuracy = ml.BinaryClassification.Evaluate(scored).Accuracy;
            using var cursor = scored.GetRowCursor(scored.Schema);
            var label = cursor.GetGetter<bool>(scored.Schema[ColumnNames.Label]);
            var prediction = cursor.GetGetter<bool>(scored.Schema[ColumnNames.PredictedLabel]);
            var probability = cursor.GetGetter<float>(scored.Schema[ColumnNames.Probability]);
            bool l = false, p = false;
            float q = 0;
            while (cursor.MoveNext())
            {
                label(ref l);
                prediction(ref p);
                probability(ref q);
                truth.Add(l ? 1 : 0);
                predicted.Add(p ? 1 : 0);
                probabilities.Add([1 - q, q]);
            }
        }
        else
        {
            evaluatorAccuracy = ml.MulticlassClassification.Evaluate(scored).MicroAccuracy;
            using var cursor = scored.GetRowCursor(scored.Schema);
            var label = cursor.GetGetter<uint>(scored.Schema[ColumnNames.Label]);
            var prediction = cursor.GetGetter<uint>(scored.Schema[ColumnNames.PredictedLabel]);
            var score = cursor.GetGetter<VBuffer<float>>(scored.Schema[ColumnNames.Score]);
            uint l = 0, p = 0;
            VBuffer<float> s = default;
            while (cursor.MoveNext())
            {
                label(ref l);
                prediction(ref p);
                score(ref s);
                truth.Add((int)l - 1);
                predicted.Add((int)p - 1);
                probabilities.Add(s.DenseValues().ToArray());
            }
        }
        var report = ClassificationReport.Compute(truth, predicted, classes, probabilities);
        if (Math.Abs(report.Accuracy - evaluatorAccuracy) > 1e-9)
            throw new InvalidOperationException(
                $"Internal check failed: ML.NET's evaluator gives accuracy {evaluatorAccuracy} but the report {report.Accuracy}.");

        var csv = new StringBuilder("image,true,predicted,probability\n");
        for (var i = 0; i < truth.Count; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{Csv(items[i].Path, alwaysQuote: true)},{Csv(classes[truth[i]])},{Csv(classes[predicted[i]])},");
            csv.Append(probabilities[i][predicted[i]].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        return (report, csv.ToString());
    }

    private static string Csv(string field, bool alwaysQuote = false) =>
        alwaysQuote || field.AsSpan().IndexOfAny(",\"\n\r") >= 0
            ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : field;

    /// <summary>Turns image items into an ML.NET data view: Boolean labels for binary tasks, keys in class order otherwise.</summary>
    private sealed class LabelEncoding
    {
        private readonly MLContext _ml;
        private readonly IReadOnlyList<string> _classes;
        private readonly bool _binary;
        private readonly ITransformer? _toKey;

        public LabelEncoding(MLContext ml, IReadOnlyList<string> classes, bool binary)
        {
            _ml = ml;
            _classes = classes;
            _binary = binary;
            if (!binary)
            {
                var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new KeyRow { Label = c }));
                _toKey = ml.Transforms.Conversion.MapValueToKey(ColumnNames.Label, keyData: keyData)
                    .Fit(ml.Data.LoadFromEnumerable(Array.Empty<TextRow>()));
            }
        }

        public IDataView ToDataView(IReadOnlyList<ImageItem> items)
        {
            foreach (var item in items)
            {
                if (!_classes.Contains(item.Label))
                    throw new InvalidDataException($"Image '{item.Path}' has label '{item.Label}', which is not one of the classes ({string.Join(", ", _classes)}).");
            }
            if (_binary)
                return _ml.Data.LoadFromEnumerable(items.Select(i => new BinaryRow { ImagePath = i.Path, Label = i.Label == _classes[1] }).ToList());
            var view = _ml.Data.LoadFromEnumerable(items.Select(i => new TextRow { ImagePath = i.Path, Label = i.Label }).ToList());
            return _toKey!.Transform(view);
        }
    }

    private sealed class KeyRow
    {
        public string Label { get; set; } = "";
    }

    private sealed class TextRow
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }

    private sealed class BinaryRow
    {
        public string ImagePath { get; set; } = "";

        public bool Label { get; set; }
    }
}
