using System.Globalization;
using MLPipelines.Mlp;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines m1</c>: the pure-C# MLP on sign-language digits.</summary>
internal sealed class M1Command : ICommand
{
    public string Name => "m1";

    public string Summary => "Milestone 1: pure-C# MLP on sign-language digits (binary 6 vs 8 or all ten).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--no-standardize" };

    public string Usage => """
        mlpipelines m1 [--data DIR] [--classes 6,8|all] [--image-size 28] [--epochs N] [--seed N | --seeds 1,2,3,4,5]
                       [--out DIR] [--test-data DIR] [--hidden 64] [--activation sigmoid|relu|tanh]
                       [--optimizer sgd|momentum|adam] [--lr X] [--batch-size N] [--dropout P] [--l2 X]
                       [--patience N] [--shift PIXELS] [--validation-fraction 0.2] [--no-standardize]
                       [--normalize pixel|image|both|none] [--background-copies N] [--supersample K]
                       [--recipe course|best] [--rotation DEG] [--zoom X] [--translate PIXELS]
                       [--label-smoothing X] [--schedule constant|step|cosine|warmupcosine] [--warmup N]

        Trains the from-scratch MLP inside an ML.NET chain (images -> pixels -> MLP) on a stratified split and
        writes to --out (default runs/m1): model.zip, metrics.json, loss-curve.png, accuracy-curve.png,
        confusion-matrix.png, predictions.csv. Two classes train the course's 784-64-1 sigmoid network with
        binary cross-entropy and mini-batch gradient descent; more classes train a 784-128-64-K ReLU network
        with softmax, Adam and early stopping. --seeds runs one training per seed (in --out/seed-N) and prints
        the mean and standard deviation of the validation accuracy.
          --background-copies N  train on N extra copies of every training photo with its background (outside
                           a skin-colour hand mask) replaced by black, a random colour, noise or a gradient
                           (course: 0, best: 2; nothing changes at prediction time)
          --supersample K  resize to K times --image-size, then average K x K pixel blocks in the chain (an area
                           filter: ML.NET 6's resize aliases a 100 -> 28 px shrink); 1 = resize only
          --normalize      pixel: standardise every pixel over the training images (course); image: each image to
                           zero mean and unit deviation over its own pixels (best); both; none (= --no-standardize)
          --data DIR       data root holding sign-language-digits/ (or that folder); default: $MLPIPELINES_DATA
          --recipe         course (default: the settings above) or best: 784-512-256 ReLU, dropout 0.1, Adam lr 0.002,
                           60 epochs of warm-up (3) + cosine, random affine (12 deg, zoom 0.1, 2.5 px), label smoothing
                           0.1 with more than two classes, no early stopping, per-image normalisation, 2 background
                           copies, --supersample 3; other options override the recipe's values
          --rotation/--zoom/--translate  random affine augmentation (replaces --shift)
        """;

    /// <summary>What an m1 invocation runs: the experiment, the overrides of the task's MLP defaults, and the seeds.</summary>
    internal sealed record Plan(ExperimentOptions Experiment, Milestone1Options Options, int[] Seeds);

    /// <summary>Maps the arguments onto the options the run uses (nothing is decided about the task here: the MLP
    /// settings the user did not give stay null and take the default of the task the dataset turns out to be).</summary>
    internal static Plan Parse(Arguments args)
    {
        var experiment = new ExperimentOptions
        {
            DataRoot = args.String("--data"),
            Classes = args.Classes("6,8"),
            ImageSize = OptionValidators.MlpImageSize(args, 28),
            ValidationFraction = OptionValidators.ValidationFraction(args),
            TestData = args.String("--test-data"),
            OutputDirectory = args.String("--out") ?? Path.Combine("runs", "m1"),
            Producer = "m1",
        };
        var recipe = args.Enum("--recipe", MilestoneRecipe.Course);
        OptionValidators.Normalization(args, recipe, experiment);
        experiment.BackgroundCopies = args.Int("--background-copies", experiment.BackgroundCopies, 0, 20);
        experiment.Supersampling = args.Int("--supersample", experiment.Supersampling, 1, 8);
        var options = new Milestone1Options
        {
            Recipe = recipe,
            HiddenLayers = args.Widths("--hidden"),
            HiddenActivation = args.NullableEnum<Activation>("--activation"),
            Optimizer = args.NullableEnum<OptimizerKind>("--optimizer"),
            LearningRate = args.NullablePositive("--lr"),
            BatchSize = args.NullableInt("--batch-size", 1),
            Epochs = args.NullableInt("--epochs", 1, 100_000),
            Dropout = args.NullableFraction("--dropout"),
            L2 = args.NullableNonNegative("--l2"),
            EarlyStoppingPatience = args.NullableInt("--patience", 0),
            RandomShift = args.NullableInt("--shift", 0, 8),
            RandomRotation = args.NullableDouble("--rotation", v => v is >= 0 and <= 180, "in [0, 180]"),
            RandomZoom = args.NullableFraction("--zoom"),
            RandomTranslation = args.NullableNonNegative("--translate"),
            LabelSmoothing = args.NullableFraction("--label-smoothing"),
            Schedule = args.NullableEnum<LearningRateSchedule>("--schedule"),
            WarmupEpochs = args.NullableInt("--warmup", 0, 100_000),
        };
        return new Plan(experiment, options, args.Seeds());
    }

    public int Run(Arguments args)
    {
        var plan = Parse(args);
        args.EnsureAllUsed();
        var summary = SeedRuns.Run(plan.Experiment, plan.Seeds, run =>
        {
            var options = plan.Options.Clone();
            // The bar's length guesses the task from --classes; the run decides it from the dataset's classes.
            var result = TrainingDisplay.Run($"m1 seed {run.Seed}", options.EpochsFor(plan.Experiment.Classes is { Count: 2 }), (progress, log) =>
            {
                options.Progress = progress;
                return Milestone1.Run(run, options, log);
            }, options.Resolve(plan.Experiment.Classes is { Count: 2 }, seed: 1).EarlyStoppingPatience > 0 ? "holdout" : "val"); // early stopping scores a hold-out of the training split
            PrintResult(result);
            return result;
        });
        PrintSeedSummary(summary);
        return 0;
    }

    internal static void PrintSeedSummary(SeedSummary summary)
    {
        // Plain stdout: a result line that scripts read must not be wrapped at the console width when piped.
        if (summary.Seeds.Count > 1)
            Console.Out.WriteLine(summary.ToString());
    }

    internal static void PrintResult(ExperimentResult result)
    {
        var table = new Table().AddColumns("split", "accuracy", "precision", "recall", "F1", "loss", "count");
        void Row(string name, Pipelines.Reporting.ClassificationReport r) => table.AddRow(
            name, r.Accuracy.ToString("P2", CultureInfo.InvariantCulture), r.Precision.ToString("F4", CultureInfo.InvariantCulture),
            r.Recall.ToString("F4", CultureInfo.InvariantCulture), r.F1.ToString("F4", CultureInfo.InvariantCulture),
            r.Loss?.ToString("F4", CultureInfo.InvariantCulture) ?? "-", r.Count.ToString(CultureInfo.InvariantCulture));
        Row("validation", result.Validation);
        if (result.Test is not null)
            Row("test", result.Test);
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"train {result.Metrics.TrainSeconds:F1} s, {result.Metrics.TrainSamplesPerSecond:N0} samples/s; outputs in {result.OutputDirectory}");
    }
}
