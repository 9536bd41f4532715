using System.Globalization;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Torch.Training;
using Spectre.Console;
using static MLPipelines.Cli.Commands.OptionValidators;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines m2</c>: the course's MLPs in TorchSharp on sign-language digits.</summary>
internal sealed class M2Command : ICommand
{
    public string Name => "m2";

    public string Summary => "Milestone 2: TorchSharp MLPs on sign-language digits (binary 6 vs 8 or all ten).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--no-standardize" };

    public string Usage => """
        mlpipelines m2 [--data DIR] [--classes 6,8|all] [--epochs N] [--seed N | --seeds 1,2,3,4,5]
                       [--optimizer adam|sgd|adamw] [--lr X] [--batch-size N] [--device auto|cpu|cuda]
                       [--out DIR] [--test-data DIR] [--hidden 128,64] [--dropout P] [--weight-decay X]
                       [--schedule step|cosine|warmup-cosine|none] [--step-size N] [--gamma X] [--patience N] [--shift PIXELS]
                       [--image-size 28] [--validation-fraction 0.2] [--threads N] [--no-standardize]
                       [--normalize pixel|image|both|none] [--background-copies N] [--supersample K]
                       [--recipe course|best] [--rotation DEG] [--zoom X] [--translate PIXELS]
                       [--label-smoothing X] [--warmup N]

        Trains the course's MLPs with TorchSharp inside an ML.NET chain (images -> 28x28 grey pixels ->
        standardisation -> network) and writes to --out (default runs/m2): model.zip, metrics.json,
        loss-curve.png, accuracy-curve.png, confusion-matrix.png, predictions.csv. Two classes: 784-128-2 ReLU
        with softmax; more: 784-128-64-K ReLU with dropout 0.2. Adam, lr 0.001, batch 64, step schedule (x0.5
        every 40 epochs), early stopping (patience 15) on a 10% hold-out of the TRAINING split, random shifts
        of up to 2 pixels. The same --seed gives the same split as m1. --seeds runs one training per seed
        (in --out/seed-N) and prints the mean and standard deviation of the validation accuracy.
          --background-copies N  train on N extra copies of every training photo with its background (outside
                           a skin-colour hand mask) replaced by black, a random colour, noise or a gradient
                           (course: 0, best: 2; nothing changes at prediction time)
          --supersample K  resize to K times --image-size, then average K x K pixel blocks in the chain (an area
                           filter: ML.NET 6's resize aliases a 100 -> 28 px shrink); 1 = resize only
          --normalize      pixel: standardise every pixel over the training images (course); image: each image to
                           zero mean and unit deviation over its own pixels (best); both; none (= --no-standardize)
          --data DIR       data root holding sign-language-digits/ (or that folder); default: $MLPIPELINES_DATA
          --device         auto (CUDA when available), cpu or cuda (falls back to the CPU with a message)
          --recipe         course (default: the settings above) or best: 784-512-256-K, dropout 0.1, AdamW lr 0.002,
                           60 epochs of warm-up (3) + cosine, random affine (12 deg, zoom 0.1, 2.5 px), label
                           smoothing 0.1, no early stopping, per-image normalisation, 2 background copies, --supersample 3;
                           other options override the recipe's values
          --rotation/--zoom/--translate  random affine augmentation (replaces --shift when any is positive)
          --schedule warmup-cosine  linear warm-up over --warmup epochs (default 3), then cosine to 0 (--warmup alone
                           implies it)
        """;

    public int Run(Arguments args)
    {
        var plan = Parse(args);
        args.EnsureAllUsed();
        RunSeeds("m2", plan);
        return 0;
    }

    /// <summary>What an m2 invocation runs.</summary>
    internal sealed record Plan(ExperimentOptions Experiment, Milestone2Options Options, int[] Seeds);

    /// <summary>Maps every m2 option onto the options the run uses (shared with <c>sweep m2</c>, which overrides some).</summary>
    internal static Plan Parse(Arguments args, string defaultOutput = "runs/m2")
    {
        var classes = args.Classes("6,8");
        var seeds = args.Seeds();
        var output = args.String("--out") ?? defaultOutput;
        var experiment = new ExperimentOptions
        {
            DataRoot = args.String("--data"),
            Classes = classes,
            ImageSize = MlpImageSize(args, 28),
            ValidationFraction = ValidationFraction(args),
            TestData = args.String("--test-data"),
            OutputDirectory = output,
            Producer = "m2",
        };
        var recipe = args.Enum("--recipe", MilestoneRecipe.Course);
        Normalization(args, recipe, experiment);
        experiment.BackgroundCopies = args.Int("--background-copies", experiment.BackgroundCopies, 0, 20);
        experiment.Supersampling = args.Int("--supersample", experiment.Supersampling, 1, 8);
        var options = Milestone2Options.For(recipe);
        options.HiddenLayers = args.Widths("--hidden") ?? options.HiddenLayers;
        options.Optimizer = args.Enum("--optimizer", options.Optimizer);
        options.LearningRate = Positive(args, "--lr", options.LearningRate);
        options.BatchSize = args.Int("--batch-size", options.BatchSize, 1);
        options.WeightDecay = NonNegative(args, "--weight-decay", options.WeightDecay);
        options.EarlyStoppingPatience = args.Int("--patience", options.EarlyStoppingPatience, 0);
        options.Shift = args.Int("--shift", options.Shift, 0, 16);
        options.Rotation = NonNegative(args, "--rotation", options.Rotation);
        options.Zoom = args.NullableFraction("--zoom") ?? options.Zoom;
        options.Translate = NonNegative(args, "--translate", options.Translate);
        options.LabelSmoothing = args.NullableFraction("--label-smoothing") ?? options.LabelSmoothing;
        options.Device = Device(args);
        options.Threads = args.Int("--threads", 0, 0, 1024);
        options.Epochs = args.NullableInt("--epochs", 1, 100_000) ?? options.Epochs;
        options.Dropout = args.NullableFraction("--dropout") ?? options.Dropout;
        options.Schedule = Schedule(args, stepDefault: 40) ?? options.Schedule;
        return new Plan(experiment, options, seeds);
    }

    internal static void RunSeeds(string name, Plan plan)
    {
        var binary = plan.Experiment.Classes is { Count: 2 };
        var summary = SeedRuns.Run(plan.Experiment, plan.Seeds, run =>
        {
            var options = plan.Options.Clone();
            var result = TrainingDisplay.Run($"{name} seed {run.Seed}", options.EpochsFor(binary), (epochs, log) =>
            {
                options.Progress = epochs;
                return Milestone2.Run(run, options, log);
            }, options.EarlyStoppingPatience > 0 ? "holdout" : "val"); // early stopping scores a hold-out of the training split
            M1Command.PrintResult(result);
            return result;
        });
        M1Command.PrintSeedSummary(summary);
    }
}
