using System.Globalization;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Torch.Training;
using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines sweep m2</c>: grid search over optimiser, learning rate and batch size.</summary>
internal sealed class SweepCommand : ICommand
{
    public string Name => "sweep m2";

    public string Summary => "Grid search of m2 over optimisers, learning rates and batch sizes; keeps the best.";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--no-standardize" };

    public string Usage => """
        mlpipelines sweep m2 [--optimizer adam,sgd] [--lr 0.01,0.001] [--batch-size 32,64] [--out DIR]
                             [other m2 options: --data --classes --epochs --seed --device --test-data ...]

        Trains every combination (one sub-folder per run, e.g. adam-lr0.001-bs64, default --out runs/sweep-m2)
        with the m2 defaults for everything else, then writes results.md (Markdown table, best in bold),
        results.csv, validation-accuracy.png (bar chart) and best-model.zip (the model with the highest validation
        accuracy; choosing on validation makes its figure optimistic, so pass --test-data for an unbiased one).
        """;

    public int Run(Arguments args)
    {
        var optimizers = List(args.Take("--optimizer"), "--optimizer", "adam", s =>
            Enum.TryParse<TorchOptimizerKind>(s, ignoreCase: true, out var v) && Enum.IsDefined(v) ? v : (TorchOptimizerKind?)null,
            "adam, sgd or adamw");
        var rates = List(args.Take("--lr"), "--lr", "0.001", s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= float.MaxValue ? v : (double?)null,
            "positive numbers");
        var batches = List(args.Take("--batch-size"), "--batch-size", "64", s =>
            int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : (int?)null,
            "positive integers");
        if (args.String("--seeds") is not null)
            throw new UsageException("sweep runs one seed per combination: use --seed N instead of --seeds.");
        var (experiment, template, seeds) = M2Command.Parse(args, Path.Combine("runs", "sweep-m2"));
        args.EnsureAllUsed();
        experiment.Seed = seeds[0];
        var output = experiment.OutputDirectory;
        IReadOnlyList<SweepPoint> points;
        try
        {
            points = Milestone2Sweep.Grid(optimizers, rates, batches);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        var binary = experiment.Classes is { Count: 2 };
        AnsiConsole.MarkupLineInterpolated($"[bold]Sweep of {points.Count} runs[/] into {output}");
        var result = Milestone2Sweep.Run(experiment, template, points, output, (point, run, options) =>
            TrainingDisplay.Run($"{point.Name}", options.EpochsFor(binary), (epochs, log) =>
            {
                options.Progress = epochs;
                return Milestone2.Run(run, options, log);
            }));
        CompareCommand.Print(result.Runs, result.BestIndex, markdown: false);
        AnsiConsole.WriteLine($"Best: {result.Best.Name} ({result.Best.Accuracy.ToString("P2", CultureInfo.InvariantCulture)}); wrote {string.Join(", ", result.Files.Select(Path.GetFileName))} in {output}");
        return 0;
    }

    private static List<T> List<T>(string? text, string option, string fallback, Func<string, T?> parse, string expected) where T : struct
    {
        var items = (text ?? fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0)
            throw new UsageException($"Option {option} needs a comma-separated list of {expected}.");
        return items.Select(s => parse(s) ?? throw new UsageException($"Option {option}: '{s}' is not one of {expected}.")).ToList();
    }
}
