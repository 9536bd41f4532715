using System.Globalization;
using MLPipelines.Mlp;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Trainers.Mlp;
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

        Trains the from-scratch MLP inside an ML.NET chain (images -> pixels -> MLP) on a stratified split and
        writes to --out (default runs/m1): model.zip, metrics.json, loss-curve.png, accuracy-curve.png,
        confusion-matrix.png, predictions.csv. Two classes train the course's 784-64-1 sigmoid network with
        binary cross-entropy and mini-batch gradient descent; more classes train a 784-128-64-K ReLU network
        with softmax, Adam and early stopping. --seeds runs one training per seed (in --out/seed-N) and prints
        the mean and standard deviation of the validation accuracy.
          --data DIR       data root holding sign-language-digits/ (or that folder); default: $MLPIPELINES_DATA
        """;

    public int Run(Arguments args)
    {
        var classes = args.Classes("6,8");
        var seeds = args.Seeds();
        var output = args.String("--out") ?? Path.Combine("runs", "m1");
        var experiment = new ExperimentOptions
        {
            DataRoot = args.String("--data"),
            Classes = classes,
            ImageSize = args.Int("--image-size", 28, 4, 1024),
            Standardize = !args.Flag("--no-standardize"),
            ValidationFraction = args.Double("--validation-fraction", 0.2),
            TestData = args.String("--test-data"),
            Producer = "m1",
        };
        var binary = classes is { Length: 2 };
        var template = binary ? Milestone1.BinaryDefaults() : Milestone1.MulticlassDefaults();
        template.HiddenLayers = args.IntList("--hidden") ?? template.HiddenLayers;
        template.HiddenActivation = args.Enum("--activation", template.HiddenActivation);
        template.Optimizer = args.Enum("--optimizer", template.Optimizer);
        template.LearningRate = args.Double("--lr", template.LearningRate);
        template.BatchSize = args.Int("--batch-size", template.BatchSize, 1);
        template.Epochs = args.Int("--epochs", template.Epochs, 1);
        template.Dropout = args.Double("--dropout", template.Dropout);
        template.L2 = args.Double("--l2", template.L2);
        template.EarlyStoppingPatience = args.Int("--patience", template.EarlyStoppingPatience, 0);
        template.RandomShift = args.Int("--shift", template.RandomShift, 0, 8);
        args.EnsureAllUsed();

        var accuracies = new List<double>();
        foreach (var seed in seeds)
        {
            var runOptions = Clone(experiment);
            runOptions.Seed = seed;
            runOptions.OutputDirectory = seeds.Length > 1 ? Path.Combine(output, $"seed-{seed}") : output;
            var mlp = CloneWithSeed(template, seed);
            var result = TrainingDisplay.Run($"m1 seed {seed}", mlp.Epochs, (epochs, log) =>
            {
                mlp.Progress = epochs;
                return Milestone1.Run(runOptions, binary ? mlp : null, binary ? null : mlp, log);
            });
            accuracies.Add(result.Validation.Accuracy);
            PrintResult(result);
        }
        if (seeds.Length > 1)
        {
            var mean = accuracies.Average();
            var std = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / Math.Max(1, accuracies.Count - 1));
            AnsiConsole.MarkupLineInterpolated(
                $"[bold]Validation accuracy over {seeds.Length} seeds: mean {mean:P2}, std {std:P2}[/] ({string.Join(", ", accuracies.Select(a => a.ToString("P2", CultureInfo.InvariantCulture)))})");
        }
        return 0;
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

    private static ExperimentOptions Clone(ExperimentOptions o) => new()
    {
        DataRoot = o.DataRoot,
        Dataset = o.Dataset,
        Classes = o.Classes,
        ImageSize = o.ImageSize,
        Grayscale = o.Grayscale,
        Standardize = o.Standardize,
        ValidationFraction = o.ValidationFraction,
        TestData = o.TestData,
        Producer = o.Producer,
    };

    private static MlpOptions CloneWithSeed(MlpOptions o, int seed)
    {
        var copy = (MlpOptions)o.Clone();
        copy.Seed = seed;
        return copy;
    }
}
