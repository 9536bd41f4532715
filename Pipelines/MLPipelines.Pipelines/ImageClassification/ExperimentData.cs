using MLPipelines.Data;

namespace MLPipelines.Pipelines.ImageClassification;

/// <summary>
/// The images of one experiment, resolved once from <see cref="ExperimentOptions"/>: the dataset folder, its items and
/// classes, the stratified training/validation split and the optional separate test images. Every milestone (the
/// classifiers and the KNN) reads its data through <see cref="Load"/>, so the same options give the same split.
/// </summary>
public sealed class ExperimentData
{
    private ExperimentData(string folder, IReadOnlyList<ImageItem> items, IReadOnlyList<string> classes, IReadOnlyList<ImageItem>? testItems,
        double validationFraction, int seed)
    {
        if (classes.Count < 2)
            throw new ArgumentException($"At least two classes are needed, got {classes.Count} in '{folder}'.", nameof(classes));
        Folder = folder;
        Items = items;
        Classes = classes;
        TestItems = testItems;
        Split = DataSplit.Stratified(items, i => i.Label, validationFraction, 0, seed);
    }

    /// <summary>Gets the dataset folder (full path, or the caller's label for items given directly).</summary>
    public string Folder { get; }

    /// <summary>Gets the name recorded in metrics.json: the dataset folder's name.</summary>
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Folder));

    /// <summary>Gets every labelled image of the dataset (training and validation).</summary>
    public IReadOnlyList<ImageItem> Items { get; }

    /// <summary>Gets the class names in label order (index 1 is the positive class when there are two).</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Gets what the dataset reader decided that a user should know (e.g. classes of names.csv without images, left out).</summary>
    public IReadOnlyList<string> Notes { get; private set; } = [];

    /// <summary>Gets a value indicating whether the task has two classes (Boolean labels, binary trainers).</summary>
    public bool IsBinary => Classes.Count == 2;

    /// <summary>Gets the stratified training/validation split.</summary>
    public SplitResult<ImageItem> Split { get; }

    /// <summary>Gets the separate test images, or null.</summary>
    public IReadOnlyList<ImageItem>? TestItems { get; }

    /// <summary>
    /// Resolves the dataset folder (<see cref="ExperimentOptions.DatasetFolder"/>, else <see cref="ExperimentOptions.Dataset"/>
    /// under <see cref="ExperimentOptions.DataRoot"/> or MLPIPELINES_DATA), reads it with the options' loader, splits it and
    /// reads <see cref="ExperimentOptions.TestData"/> with the same loader and classes.
    /// </summary>
    /// <param name="options">The experiment options (validated here).</param>
    /// <exception cref="DirectoryNotFoundException">The dataset folder cannot be found (the message names the option).</exception>
    public static ExperimentData Load(ExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string folder = options.DatasetFolder is { } explicitFolder
            ? Directory.Exists(explicitFolder)
                ? Path.GetFullPath(explicitFolder)
                : throw new DirectoryNotFoundException($"Dataset folder '{explicitFolder}' does not exist (option --data).")
            : DatasetLocator.ResolveDataset(options.Dataset, options.DataRoot);
        var loader = LoaderOf(options);
        var dataset = loader(folder, options.Classes is { Count: > 0 } c ? c : null);
        var data = FromItems(options, folder, dataset.Items, dataset.Classes);
        data.Notes = dataset.Notes;
        return data;
    }

    /// <summary>Builds the experiment's data from images that are already listed (e.g. by a custom loader).</summary>
    /// <param name="options">Split options; <see cref="ExperimentOptions.TestData"/> is read with the options' loader when set.</param>
    /// <param name="folder">The dataset folder (recorded as the dataset name).</param>
    /// <param name="items">The images and their labels.</param>
    /// <param name="classes">Class names in label order.</param>
    /// <param name="testItems">Separate test images, or null to read <see cref="ExperimentOptions.TestData"/>.</param>
    public static ExperimentData FromItems(ExperimentOptions options, string folder, IReadOnlyList<ImageItem> items, IReadOnlyList<string> classes,
        IReadOnlyList<ImageItem>? testItems = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(classes);
        if (testItems is null && options.TestData is { } testFolder)
        {
            if (!Directory.Exists(testFolder))
                throw new DirectoryNotFoundException($"Test data folder '{testFolder}' does not exist (option --test-data).");
            testItems = LoaderOf(options)(Path.GetFullPath(testFolder), classes).Items;
        }
        return new ExperimentData(folder, items, classes, testItems, options.ValidationFraction, options.Seed);
    }

    private static ImageDatasetLoader LoaderOf(ExperimentOptions options) =>
        options.Loader ?? ImageClassificationExperiment.DefaultLoader(options.Dataset);
}
