using System.Globalization;
using MLPipelines.IO;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Torch.Training;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>One combination of a hyper-parameter sweep.</summary>
/// <param name="Optimizer">The optimiser.</param>
/// <param name="LearningRate">The initial learning rate.</param>
/// <param name="BatchSize">Rows per mini-batch.</param>
public sealed record SweepPoint(TorchOptimizerKind Optimizer, double LearningRate, int BatchSize)
{
    /// <summary>The run's folder name, e.g. "adam-lr0.001-bs64".</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"{Optimizer.ToString().ToLowerInvariant()}-lr{LearningRate}-bs{BatchSize}");
}

/// <summary>What a sweep produced.</summary>
/// <param name="Runs">One summary per combination, in grid order.</param>
/// <param name="BestIndex">Index of the best run (highest validation accuracy, then lowest validation loss).</param>
/// <param name="Files">results.md, results.csv, the bar chart and best-model.zip.</param>
public sealed record SweepResult(IReadOnlyList<RunSummary> Runs, int BestIndex, IReadOnlyList<string> Files)
{
    /// <summary>The best run.</summary>
    public RunSummary Best => Runs[BestIndex];
}

/// <summary>
/// A grid search over Milestone 2's optimiser, learning rate and batch size: each combination trains into its own
/// sub-folder; the best by validation accuracy is kept (its model copied to best-model.zip) and the results are
/// written as results.md (Markdown table), results.csv and validation-accuracy.png (bar chart). Selecting on the
/// validation split makes the best run's validation accuracy optimistic; pass test data for an unbiased figure.
/// </summary>
public static class Milestone2Sweep
{
    /// <summary>Every combination of the given values, optimiser outermost.</summary>
    /// <param name="optimizers">Optimisers.</param>
    /// <param name="learningRates">Learning rates.</param>
    /// <param name="batchSizes">Batch sizes.</param>
    public static IReadOnlyList<SweepPoint> Grid(IReadOnlyList<TorchOptimizerKind> optimizers, IReadOnlyList<double> learningRates, IReadOnlyList<int> batchSizes)
    {
        ArgumentNullException.ThrowIfNull(optimizers);
        ArgumentNullException.ThrowIfNull(learningRates);
        ArgumentNullException.ThrowIfNull(batchSizes);
        if (optimizers.Count == 0 || learningRates.Count == 0 || batchSizes.Count == 0)
            throw new ArgumentException("Every sweep dimension needs at least one value.");
        var points = (from o in optimizers from lr in learningRates from bs in batchSizes select new SweepPoint(o, lr, bs)).ToList();
        var duplicate = points.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"The sweep repeats the combination {duplicate.Key}.");
        return points;
    }

    /// <summary>Runs the sweep.</summary>
    /// <param name="experiment">Dataset and split options; each run writes to outputDirectory/&lt;combination&gt;.</param>
    /// <param name="template">Milestone 2 options; the sweep sets the optimiser, learning rate and batch size.</param>
    /// <param name="points">The combinations.</param>
    /// <param name="outputDirectory">The sweep folder.</param>
    /// <param name="runOne">Trains one combination (e.g. with a progress display); null for <see cref="Milestone2.Run"/>.</param>
    public static SweepResult Run(ExperimentOptions experiment, Milestone2Options template, IReadOnlyList<SweepPoint> points, string outputDirectory,
        Func<SweepPoint, ExperimentOptions, Milestone2Options, ExperimentResult>? runOne = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(points);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        if (points.Count == 0)
            throw new ArgumentException("The sweep has no combinations.", nameof(points));
        runOne ??= (_, e, o) => Milestone2.Run(e, o);
        var runs = new List<RunSummary>();
        using var outputLock = FolderLock.Acquire(outputDirectory); // the whole sweep: a second sweep into it fails at once
        foreach (var point in points)
        {
            var run = experiment.Clone();
            run.OutputDirectory = Path.Combine(outputDirectory, point.Name);
            var options = template.Clone();
            options.Optimizer = point.Optimizer;
            options.LearningRate = point.LearningRate;
            options.BatchSize = point.BatchSize;
            var result = runOne(point, run, options);
            runs.Add(new RunSummary(point.Name, result.OutputDirectory, result.Metrics));
        }
        return new SweepResult(runs, RunComparison.Best(runs), WriteResults(outputDirectory, runs, "m2 sweep"));
    }

    /// <summary>Writes results.md, results.csv, validation-accuracy.png and best-model.zip for finished runs.</summary>
    /// <param name="outputDirectory">The sweep folder.</param>
    /// <param name="runs">The runs.</param>
    /// <param name="title">Title of the table and chart.</param>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> WriteResults(string outputDirectory, IReadOnlyList<RunSummary> runs, string title)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var best = RunComparison.Best(runs);
        using var folder = new RunFolder(outputDirectory);
        var b = runs[best];
        var text = $"# {title}\n\n" + RunComparison.ToMarkdown(runs, best) +
                   string.Create(CultureInfo.InvariantCulture,
                       $"\nBest by validation accuracy: **{b.Name}** ({b.Accuracy:P2}; model copied to best-model.zip). Choosing on the validation split makes this figure optimistic; evaluate on separate test data for an unbiased one.\n");
        folder.WriteText("results.md", text);
        folder.WriteText("results.csv", RunComparison.ToCsv(runs, best, ["optimizer", "learning_rate", "batch_size", "epochs_run", "best_epoch", "seconds_per_epoch"]));
        var chart = folder.PathOf("validation-accuracy.png");
        BarChart.Save(chart, $"{title}: validation accuracy", runs.Select(r => r.Name).ToList(), runs.Select(r => r.Accuracy).ToList(), "validation accuracy");
        folder.Add(chart);
        var bestModel = Path.Combine(b.Directory, RunFolder.ModelFileName);
        if (File.Exists(bestModel))
        {
            var copy = folder.PathOf("best-model.zip");
            AtomicFile.Write(copy, stream =>
            {
                using var source = File.OpenRead(bestModel);
                source.CopyTo(stream);
            });
            folder.Add(copy);
        }
        folder.Commit("sweep");
        return folder.Files.ToList();
    }
}
