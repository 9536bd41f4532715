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
                       [--schedule step|cosine|none] [--step-size N] [--gamma X] [--patience N] [--shift PIXELS]
                       [--image-size 28] [--validation-fraction 0.2] [--threads N] [--no-standardize]

        Trains the course's MLPs with TorchSharp inside an ML.NET chain (images -> 28x28 grey pixels ->
        standardisation -> network) and writes to --out (default runs/m2): model.zip, metrics.json,
        loss-curve.png, accuracy-curve.png, confusion-matrix.png, predictions.csv. Two classes: 784-128-2 ReLU
        with softmax; more: 784-128-64-K ReLU with dropout 0.2. Adam, lr 0.001, batch 64, step schedule (x0.5
        every 40 epochs), early stopping (patience 15) on a 10% hold-out of the TRAINING split, random shifts
        of up to 2 pixels. The same --seed gives the same split as m1. --seeds runs one training per seed
        (in --out/seed-N) and prints the mean and standard deviation of the validation accuracy.
          --data DIR       data root holding sign-language-digits/ (or that folder); default: $MLPIPELINES_DATA
          --device         auto (CUDA when available), cpu or cuda (falls back to the CPU with a message)
        """;

    public int Run(Arguments args)
    {
        var (experiment, options, seeds, output) = Parse(args);
        args.EnsureAllUsed();
        RunSeeds("m2", experiment, options, seeds, output);
        return 0;
    }

    /// <summary>Reads every m2 option (shared with <c>sweep m2</c>, which overrides some).</summary>
    internal static (ExperimentOptions Experiment, Milestone2Options Options, int[] Seeds, string Output) Parse(Arguments args, string defaultOutput = "runs/m2")
    {
        var classes = args.Classes("6,8");
        var seeds = args.Seeds();
        var output = args.String("--out") ?? defaultOutput;
        var experiment = new ExperimentOptions
        {
            DataRoot = args.String("--data"),
            Classes = classes,
            ImageSize = args.Int("--image-size", 28, 4, 1024),
            Standardize = !args.Flag("--no-standardize"),
            ValidationFraction = ValidationFraction(args),
            TestData = args.String("--test-data"),
            Producer = "m2",
        };
        var options = new Milestone2Options
        {
            HiddenLayers = args.IntList("--hidden"),
            Optimizer = args.Enum("--optimizer", TorchOptimizerKind.Adam),
            LearningRate = Positive(args, "--lr", 0.001),
            BatchSize = args.Int("--batch-size", 64, 1),
            WeightDecay = NonNegative(args, "--weight-decay", 1e-4),
            EarlyStoppingPatience = args.Int("--patience", 15, 0),
            Shift = args.Int("--shift", 2, 0, 16),
            Device = Device(args),
            Threads = args.Int("--threads", 0, 0, 1024),
        };
        var epochs = args.String("--epochs") is null ? (int?)null : args.Int("--epochs", 1, 1, 100_000);
        options.Epochs = epochs;
        var dropout = args.String("--dropout") is null ? (double?)null : args.Double("--dropout", 0);
        if (dropout is < 0 or >= 1)
            throw new UsageException($"--dropout must be in [0, 1), got {dropout}.");
        options.Dropout = dropout;
        if (options.HiddenLayers is { } hidden && (hidden.Count == 0 || hidden.Any(h => h < 1)))
            throw new UsageException("--hidden must list positive layer widths, e.g. 128,64.");
        options.Schedule = Schedule(args, stepDefault: 40);
        return (experiment, options, seeds, output);
    }

    internal static void RunSeeds(string name, ExperimentOptions experiment, Milestone2Options template, int[] seeds, string output)
    {
        var accuracies = new List<double>();
        foreach (var seed in seeds)
        {
            var runOptions = experiment.Clone();
            runOptions.Seed = seed;
            runOptions.OutputDirectory = seeds.Length > 1 ? Path.Combine(output, $"seed-{seed}") : output;
            var options = template.Clone();
            var binary = experiment.Classes is { Count: 2 };
            var result = TrainingDisplay.RunTorch($"{name} seed {seed}", options.EpochsFor(binary), (epochs, log) =>
            {
                options.Progress = epochs;
                return Milestone2.Run(runOptions, options, log);
            });
            accuracies.Add(result.Validation.Accuracy);
            M1Command.PrintResult(result);
        }
        PrintSeedSummary(accuracies);
    }

    internal static void PrintSeedSummary(IReadOnlyList<double> accuracies)
    {
        if (accuracies.Count < 2)
            return;
        var mean = accuracies.Average();
        var std = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / (accuracies.Count - 1));
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]Validation accuracy over {accuracies.Count} seeds: mean {mean:P2}, std {std:P2}[/] ({string.Join(", ", accuracies.Select(a => a.ToString("P2", CultureInfo.InvariantCulture)))})");
    }
}
