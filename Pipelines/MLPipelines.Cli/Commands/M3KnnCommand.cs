using System.Globalization;
using MLPipelines.Knn;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines m3-knn</c>: k-nearest neighbours on pretrained or fine-tuned embeddings.</summary>
internal sealed class M3KnnCommand : ICommand
{
    public string Name => "m3-knn";

    public string Summary => "Milestone 3: KNN on backbone embeddings (ResNet-18, MobileNetV2, an .onnx, or an m3-transfer model.zip).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--tta", "--no-tta" };

    public string Usage => """
        mlpipelines m3-knn --data DIR [--dataset stanford-cars|sign-language-digits] [--backbone resnet18|mobilenetv2|FILE.onnx|MODEL.zip]
                           [--recipe best|course] [--k 10] [--metric euclidean|cosine] [--weighting uniform|distance] [--tta|--no-tta] [--seed 1]
                           [--validation-fraction 0.2] [--out DIR] [--test-data DIR] [--cache DIR] [--batch-size 32]
                           [--input NAME] [--output NAME] [--models DIR]

        Embeds every image with the backbone (batched ONNX Runtime, cached in --cache), fits the KNN classifier on the
        training split (the stratified split of the other milestones for the same --seed) and writes to --out
        (default runs/m3-knn): model.zip (stock ML.NET chain: image -> embeddings -> KNN), knn-index.npz (retrieval
        index for 'similar'), metrics.json, predictions.csv, confusion-matrix.png (most-confused.csv above 50 classes).
          --backbone   resnet18 (ML.NET's ImageNet model), mobilenetv2 (mobilenetv2-12-int8.onnx in --models or
                       ../shared/models), FILE.onnx (--input/--output names, default input/output: a torchvision
                       export, ImageNet normalisation, 224 px), or MODEL.zip from m3-transfer (its network up to the
                       pooled features)
          --recipe     best (default): --k 10 --metric cosine --tta; course: --k 10 --metric euclidean (the course's KNN)
          --tta        each embedding (training images, queries, and inside model.zip) is the mean of the image's and its
                       mirror image's (2x featurisation cost); --no-tta embeds the image as given
          --k, --metric  comma-separated lists run a grid into OUT/<metric>-k<K>/ and write results.md/results.csv
        Also reports retrieval quality (validation images as queries against the training images, cosine):
        Recall@1, Recall@5 and mAP, printed and in metrics.json (recall_at_1, recall_at_5, retrieval_map).
        """;

    /// <summary>What an m3-knn invocation runs.</summary>
    internal sealed record Plan(ExperimentOptions Experiment, KnnExperimentOptions Knn);

    public int Run(Arguments args)
    {
        var (experiment, knn) = Parse(args);
        args.EnsureAllUsed();
        KnnExperimentResult result = null!;
        AnsiConsole.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask("Embedding images", maxValue: 1);
            task.IsIndeterminate = true;
            knn.FeaturizeProgress = new SynchronousProgress<(int Done, int Total)>(p =>
            {
                task.IsIndeterminate = false;
                task.MaxValue = Math.Max(1, p.Total);
                task.Value = p.Done;
                task.Description = string.Create(CultureInfo.InvariantCulture, $"Embedding images ({p.Done}/{p.Total})");
            });
            result = Milestone3Knn.Run(experiment, knn, new SynchronousProgress<string>(s => AnsiConsole.WriteLine(s)));
            task.StopTask();
        });
        AnsiConsole.WriteLine();
        AnsiConsole.WriteLine(result.ResultsTable);
        AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Outputs in {experiment.OutputDirectory}"));
        return 0;
    }

    /// <summary>Maps every m3-knn option onto the options the run uses. --data is the data root holding the dataset
    /// folder (--dataset), or the dataset folder itself.</summary>
    internal static Plan Parse(Arguments args)
    {
        var data = args.String("--data") ?? Environment.GetEnvironmentVariable("MLPIPELINES_DATA")
            ?? throw new UsageException("--data DIR is required (the dataset folder).");
        var dataset = args.String("--dataset") ?? "stanford-cars";
        var underRoot = Directory.Exists(Path.Combine(data, dataset));
        var experiment = new ExperimentOptions
        {
            DataRoot = underRoot ? data : null,
            DatasetFolder = underRoot ? null : data,
            Dataset = dataset,
            ValidationFraction = OptionValidators.ValidationFraction(args),
            Seed = args.Int("--seed", 1),
            OutputDirectory = args.String("--out") ?? Path.Combine("runs", "m3-knn"),
            TestData = args.String("--test-data"),
            Producer = "m3-knn",
        };
        var metrics = args.String("--metric")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(m => m.ToLowerInvariant() switch
            {
                "euclidean" => KnnMetric.Euclidean,
                "cosine" => KnnMetric.Cosine,
                _ => throw new UsageException($"--metric must be euclidean or cosine (or a comma-separated list), got '{m}'."),
            }).Distinct().ToList();
        if (metrics is { Count: 0 }) throw new UsageException("--metric needs at least one value.");
        var weighting = (args.String("--weighting") ?? "uniform").ToLowerInvariant() switch
        {
            "uniform" => KnnWeighting.Uniform,
            "distance" => KnnWeighting.Distance,
            var w => throw new UsageException($"--weighting must be uniform or distance, got '{w}'."),
        };
        var ks = args.IntList("--k");
        if (ks is not null && (ks.Length == 0 || ks.Any(k => k < 1))) throw new UsageException("--k values must be at least 1.");
        var knn = new KnnExperimentOptions
        {
            Backbone = args.String("--backbone") ?? "resnet18",
            InputName = args.String("--input") ?? "input",
            OutputName = args.String("--output") ?? "output",
            ModelsFolder = args.String("--models"),
            Recipe = args.Enum("--recipe", MilestoneRecipe.Best),
            K = ks?.Distinct().ToList(),
            Metrics = metrics,
            Weighting = weighting,
            MirrorEmbeddings = OptionValidators.Switch(args, "--tta", "--no-tta"),
            CacheDirectory = args.String("--cache"),
            BatchSize = args.Int("--batch-size", 32, 1, 1024),
        };
        return new Plan(experiment, knn);
    }
}
