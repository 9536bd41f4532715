using System.Globalization;
using MLPipelines.IO;

namespace MLPipelines.Pipelines.ImageClassification;

/// <summary>The runs of one experiment over several seeds, and the mean and spread of their validation accuracy.</summary>
/// <param name="Seeds">The seeds, in run order.</param>
/// <param name="Results">One result per seed.</param>
public sealed record SeedSummary(IReadOnlyList<int> Seeds, IReadOnlyList<ExperimentResult> Results)
{
    /// <summary>Gets the validation accuracies, in run order.</summary>
    public IReadOnlyList<double> Accuracies => Results.Select(r => r.Validation.Accuracy).ToList();

    /// <summary>Gets the mean validation accuracy.</summary>
    public double Mean => Accuracies.Average();

    /// <summary>Gets the sample standard deviation of the validation accuracy (0 for one seed).</summary>
    public double StandardDeviation
    {
        get
        {
            var a = Accuracies;
            double mean = Mean;
            return a.Count < 2 ? 0 : Math.Sqrt(a.Sum(x => (x - mean) * (x - mean)) / (a.Count - 1));
        }
    }

    /// <summary>A one-line summary, e.g. "mean 96.00 %, std 3.13 % over 5 seeds (97.33 %, ...)".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"Validation accuracy over {Seeds.Count} seeds: mean {Mean:P2}, std {StandardDeviation:P2} ({string.Join(", ", Accuracies.Select(a => a.ToString("P2", CultureInfo.InvariantCulture)))})");
}

/// <summary>Runs one experiment per seed: the same options with the seed replaced, outputs in OUT/seed-N when there are several.</summary>
public static class SeedRuns
{
    /// <summary>Runs <paramref name="run"/> once per seed.</summary>
    /// <param name="experiment">The experiment options (copied per seed; not changed).</param>
    /// <param name="seeds">Distinct seeds, at least one.</param>
    /// <param name="run">Runs one experiment with the options it is given.</param>
    /// <exception cref="ArgumentException">No seed, or a seed given twice (the same run twice would fake a spread).</exception>
    public static SeedSummary Run(ExperimentOptions experiment, IReadOnlyList<int> seeds, Func<ExperimentOptions, ExperimentResult> run)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(run);
        Validate(seeds);
        var results = new List<ExperimentResult>();
        // One lock for every seed: a second run into the same --out fails at once, not at its first seed folder.
        using var outputLock = FolderLock.Acquire(experiment.OutputDirectory);
        foreach (var seed in seeds)
        {
            var options = experiment.Clone();
            options.Seed = seed;
            options.OutputDirectory = seeds.Count > 1 ? Path.Combine(experiment.OutputDirectory, $"seed-{seed}") : experiment.OutputDirectory;
            results.Add(run(options));
        }
        return new SeedSummary(seeds, results);
    }

    /// <summary>Throws <see cref="ArgumentException"/> for an empty list or a repeated seed.</summary>
    /// <param name="seeds">The seeds.</param>
    public static void Validate(IReadOnlyList<int> seeds)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        if (seeds.Count == 0)
            throw new ArgumentException("Seeds needs at least one seed.", nameof(seeds));
        var repeated = seeds.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (repeated.Count > 0)
            throw new ArgumentException($"Seeds must be distinct; {string.Join(", ", repeated)} is given more than once.", nameof(seeds));
    }
}
