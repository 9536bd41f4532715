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

    /// <summary>
    /// The dataset folder itself, whatever its name (e.g. <c>m3-transfer --data DIR</c>); when set, <see cref="DataRoot"/>
    /// and <see cref="Dataset"/> are not used to find it. The default value is null.
    /// </summary>
    public string? DatasetFolder { get; set; }

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

    /// <summary>
    /// Area filter when shrinking the photos (<see cref="ImagePreprocessingOptions.Supersampling"/>): resize to
    /// ImageSize × this, then average blocks of this × this pixels in the chain. ML.NET 6's resize aliases a strong
    /// shrink (100 → 28 px); 1 keeps ML.NET's resize only. The default value is 1.
    /// </summary>
    public int Supersampling { get; set; } = 1;

    /// <summary>Convert images to grayscale. The default value is true.</summary>
    public bool Grayscale { get; set; } = true;

    /// <summary>Standardise every pixel to zero mean and unit variance over the training images (stock NormalizeMeanVariance with fixZero false, so it centres). The default value is true.</summary>
    public bool Standardize { get; set; } = true;

    /// <summary>
    /// Normalise each image to zero mean and unit standard deviation over its own pixels (stock
    /// NormalizeGlobalContrast) before the optional per-pixel <see cref="Standardize"/>: the network then sees the same
    /// numbers whatever the photo's brightness and contrast. The default value is false.
    /// </summary>
    public bool PerImageNormalize { get; set; }

    /// <summary>
    /// Training-time background randomisation: this many extra copies of every training photo, each with its
    /// background replaced by a random one (<see cref="Milestones.BackgroundCopies.RandomiseBackgrounds"/>); 0 for
    /// none. Validation and test images are never changed, and prediction is unchanged. The default value is 0.
    /// </summary>
    public int BackgroundCopies { get; set; }

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

    /// <summary>A copy of these options (the class list copied too), for a run to own.</summary>
    public ExperimentOptions Clone()
    {
        var copy = (ExperimentOptions)MemberwiseClone();
        copy.Classes = Classes?.ToArray();
        return copy;
    }

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
public sealed record TrainedClassifier(ITransformer Model, IReadOnlyList<EpochRecord> History, int? BestEpoch, double TrainSeconds, double SamplesPerSecond)
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

    /// <summary>Runs the experiment on the dataset the options name (<see cref="ExperimentData.Load"/>).</summary>
    /// <param name="options">Dataset, split and output options (copied; never changed).</param>
    /// <param name="training">Trains the classifier on the preprocessed data.</param>
    /// <param name="log">Receives one line per stage.</param>
    public static ExperimentResult Run(ExperimentOptions options, ClassifierTraining training, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Run(options, ExperimentData.Load(options), training, log);
    }

    /// <summary>
    /// The skeleton every image-classification milestone runs: label encoding → ML.NET preprocessing (fitted on the
    /// training split) → <paramref name="training"/> (called once the classes are known; it resolves its own options) →
    /// evaluation of the validation (and test) split → the run folder (<see cref="RunFolder"/>: model.zip with its card,
    /// metrics.json with the trainer's <see cref="TrainedClassifier.Details"/>, curves, confusion matrix, predictions.csv).
    /// </summary>
    /// <param name="options">Preprocessing and output options (copied; never changed).</param>
    /// <param name="data">The images, classes and split.</param>
    /// <param name="training">Trains the classifier on the preprocessed data.</param>
    /// <param name="log">Receives one line per stage.</param>
    public static ExperimentResult Run(ExperimentOptions options, ExperimentData data, ClassifierTraining training, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(training);
        var run = options.Clone();
        run.Validate();
        using var output = new RunFolder(run.OutputDirectory);
        var ml = new MLContext(run.Seed);
        var classes = data.Classes;
        var binary = data.IsBinary;
        var split = data.Split;
        foreach (var note in data.Notes)
            log?.Report(note);
        log?.Report($"{data.Items.Count} images, {classes.Count} classes ({Abbreviate(classes)}); " +
                    $"train {split.Train.Count}, validation {split.Validation.Count}");

        var labels = new LabelEncoding(ml, classes, binary);
        var trainItems = split.Train;
        string? copies = null;
        if (run.BackgroundCopies > 0)
        {
            copies = Path.Combine(Path.GetTempPath(), "mlpipelines-backgrounds-" + Guid.NewGuid().ToString("N"));
            log?.Report($"Randomising backgrounds: {run.BackgroundCopies} cop{(run.BackgroundCopies == 1 ? "y" : "ies")} of each training photo");
            trainItems = Milestones.BackgroundCopies.RandomiseBackgrounds(split.Train, run.BackgroundCopies, run.Seed, copies);
        }
        try
        {
            return RunSplit(run, data, training, log, output, ml, classes, binary, split, labels, trainItems);
        }
        finally
        {
            if (copies is not null && Directory.Exists(copies))
                Directory.Delete(copies, recursive: true);
        }
    }

    private static ExperimentResult RunSplit(ExperimentOptions run, ExperimentData data, ClassifierTraining training, IProgress<string>? log,
        RunFolder output, MLContext ml, IReadOnlyList<string> classes, bool binary, SplitResult<ImageItem> split, LabelEncoding labels,
        IReadOnlyList<ImageItem> trainItems)
    {
        var trainRaw = labels.ToDataView(trainItems);
        var validationRaw = labels.ToDataView(split.Validation);
        var testRaw = data.TestItems is { } testItems ? labels.ToDataView(testItems) : null;

        var preprocessing = CreatePreprocessing(ml, run);
        var stopwatch = new Stopwatch();
        var (pre, trained) = NamingCorruptImages(data.Items, () =>
        {
            log?.Report("Fitting preprocessing (decoding images)");
            var pre = preprocessing.Fit(trainRaw);
            var shape = ImageShape(run);
            long pixels = (long)shape[0] * shape[1] * shape[2];
            var trainFeatures = CacheWithoutImages(ml, pre.Transform(trainRaw), trainItems.Count * pixels);
            var validationFeatures = CacheWithoutImages(ml, pre.Transform(validationRaw), split.Validation.Count * pixels);
            log?.Report("Training");
            stopwatch.Start();
            var trained = training(trainFeatures, validationFeatures, binary, classes);
            stopwatch.Stop();
            return (pre, trained);
        });
        var model = pre.Append(trained.Model);
        output.SaveModel(ml, model, trainRaw.Schema, ModelCard.ForImages(classes, run.ImageSize, run.Grayscale, run.Producer));

        log?.Report("Evaluating");
        var (validation, validationRows) = Evaluate(ml, model, validationRaw, split.Validation, binary, classes);
        ClassificationReport? test = null;
        if (testRaw is not null)
            (test, _) = Evaluate(ml, model, testRaw, data.TestItems!, binary, classes);

        var metrics = new MetricsDocument
        {
            Validation = SplitMetrics.FromReport(validation),
            Test = test is null ? null : SplitMetrics.FromReport(test),
            TrainSeconds = trained.TrainSeconds,
            TrainSamplesPerSecond = trained.SamplesPerSecond,
        };
        metrics.Extra["producer"] = run.Producer;
        metrics.Extra["dataset"] = data.Name;
        metrics.Extra["image_size"] = run.ImageSize;
        metrics.Extra["channels"] = run.Grayscale ? 1 : 3;
        metrics.Extra["standardize"] = run.Standardize;
        metrics.Extra["per_image_normalize"] = run.PerImageNormalize;
        metrics.Extra["supersampling"] = run.Supersampling;
        metrics.Extra["seed"] = run.Seed;
        metrics.Extra["validation_fraction"] = run.ValidationFraction;
        metrics.Extra["train_count"] = split.Train.Count;
        metrics.Extra["background_copies"] = run.BackgroundCopies;
        metrics.Extra["epochs_run"] = trained.History.Count;
        if (trained.BestEpoch is int best)
            metrics.Extra["best_epoch"] = best;
        metrics.Extra["wall_seconds"] = stopwatch.Elapsed.TotalSeconds;
        metrics.Extra["peak_rss_mb"] = ProcessMemory.PeakResidentMegabytes();
        RunFolder.AddDetails(metrics, trained.Details);

        output.WriteMetrics(metrics);
        output.WriteTrainingCurves(trained.History, trained.BestEpoch);
        output.WriteConfusion(validation, log);
        output.WritePredictions(validationRows);
        output.Commit(run.Producer);
        return new ExperimentResult(metrics, validation, test, output.Directory, output.Files);
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
    /// Rows cached in memory at most this many float values (256 MB); larger views stream, and the trainers read
    /// them once into their own compact storage (e.g. the Torch trainers' 8-bit pixels).
    /// </summary>
    internal const long CacheLimitValues = 64L << 20;

    /// <summary>
    /// Drops the decoded-image columns (ML.NET's cache would otherwise keep every full-size bitmap alive beside the
    /// pixel vectors) and caches the preprocessed rows when they are small (at most <see cref="CacheLimitValues"/>
    /// values): a trainer that reads them several times (a sweep) then decodes every image once. Larger views are not
    /// cached: the cache would be one more full-size float copy of every image (3.2 GB for 5,288 224-px photos), and
    /// the trainers read the rows once anyway.
    /// </summary>
    private static IDataView CacheWithoutImages(MLContext ml, IDataView view, long values)
    {
        var images = view.Schema.Where(c => c.Type is ImageDataViewType).Select(c => c.Name).Distinct().ToArray();
        if (images.Length > 0)
            view = ml.Transforms.DropColumns(images).Fit(view).Transform(view);
        return values <= CacheLimitValues ? ml.Data.Cache(view) : view;
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
            Supersampling = options.Supersampling,
        });
        if (options.PerImageNormalize)
            images = images.Append(ml.Transforms.NormalizeGlobalContrast(ColumnNames.Features, ensureZeroMean: true, ensureUnitStandardDeviation: true));
        return options.Standardize
            ? images.Append(ml.Transforms.NormalizeMeanVariance(ColumnNames.Features, fixZero: false))
            : images;
    }

    /// <summary>
    /// Scores <paramref name="raw"/> with <paramref name="model"/>, checks ML.NET's evaluator accepts the output
    /// schema, and builds the project's report (confusion matrix, loss) plus predictions.csv rows.
    /// </summary>
    internal static (ClassificationReport Report, string Csv) Evaluate(
        MLContext ml, ITransformer model, IDataView raw, IReadOnlyList<ImageItem> items, bool binary, IReadOnlyList<string> classes)
    {
        // Cached: the evaluator and the report below both read the scores, so the images are decoded and the network
        // run once per row. Only the columns the two passes read are kept (never the pixels: a test set of thousands
        // of 224-px photos would be gigabytes).
        var output = model.Transform(raw);
        string[] keep = [.. new[] { ColumnNames.Label, ColumnNames.PredictedLabel, ColumnNames.Score, ColumnNames.Probability }
            .Where(c => output.Schema.GetColumnOrNull(c) is not null)];
        var scored = ml.Data.Cache(ml.Transforms.SelectColumns(keep).Fit(output).Transform(output));
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

        var csv = new StringBuilder(PredictionsCsv.Header);
        for (var i = 0; i < truth.Count; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{PredictionsCsv.Field(items[i].Path, alwaysQuote: true)},{PredictionsCsv.Field(classes[truth[i]])},{PredictionsCsv.Field(classes[predicted[i]])},");
            csv.Append(probabilities[i][predicted[i]].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        return (report, csv.ToString());
    }
}
