using System.Globalization;
using System.Text;
using MLPipelines.IO;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>The headline figures of one finished run, read from its <c>metrics.json</c>.</summary>
/// <param name="Name">Run name (by default the run folder's name).</param>
/// <param name="Directory">The run folder.</param>
/// <param name="Metrics">The whole metrics document.</param>
public sealed record RunSummary(string Name, string Directory, MetricsDocument Metrics)
{
    /// <summary>Validation accuracy.</summary>
    public double Accuracy => Metrics.Validation.Accuracy;

    /// <summary>Validation F1 (positive class when binary, macro otherwise).</summary>
    public double F1 => Metrics.Validation.F1;

    /// <summary>Validation precision.</summary>
    public double Precision => Metrics.Validation.Precision;

    /// <summary>Validation recall.</summary>
    public double Recall => Metrics.Validation.Recall;

    /// <summary>Validation cross-entropy, or null.</summary>
    public double? Loss => Metrics.Validation.Loss;

    /// <summary>Training time in seconds.</summary>
    public double TrainSeconds => Metrics.TrainSeconds;

    /// <summary>Reads <c>metrics.json</c> of a run folder.</summary>
    /// <param name="runDirectory">The run folder (or its metrics.json).</param>
    /// <param name="name">Run name; null for the folder name.</param>
    /// <exception cref="FileNotFoundException">The folder has no metrics.json (the message names it).</exception>
    /// <exception cref="InvalidDataException">metrics.json is not a metrics document, or the folder's run-manifest.json does not match its files (the message names it).</exception>
    public static RunSummary Read(string runDirectory, string? name = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDirectory);
        var full = Path.GetFullPath(runDirectory);
        var file = File.Exists(full) ? full : Path.Combine(full, MetricsJson.FileName);
        var folder = File.Exists(full) ? Path.GetDirectoryName(full)! : full;
        if (!File.Exists(file))
            throw new FileNotFoundException($"Run '{runDirectory}' has no {MetricsJson.FileName} ('{file}' does not exist); is it a finished run folder?", file);
        if (StagedFolder.Inspect(folder, out var problem) == FolderState.Incomplete)
            throw new InvalidDataException($"Run '{runDirectory}' is not a finished run: {problem}");
        MetricsDocument metrics;
        try
        {
            metrics = MetricsJson.Read(file);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{file}': {e.Message}", e);
        }
        return new RunSummary(name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)), folder, metrics);
    }
}

/// <summary>
/// The course's comparison table of finished runs (validation accuracy, F1, precision, recall, loss, training
/// time), as rows of text, Markdown or CSV.
/// </summary>
public static class RunComparison
{
    /// <summary>The column headers.</summary>
    public static IReadOnlyList<string> Headers { get; } = ["run", "accuracy", "F1", "precision", "recall", "loss", "train time (s)"];

    /// <summary>The index of the best run: highest validation accuracy, ties broken by the lower validation loss, then by order.</summary>
    /// <param name="runs">The runs (at least one).</param>
    public static int Best(IReadOnlyList<RunSummary> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0)
            throw new ArgumentException("No runs to compare.", nameof(runs));
        var best = 0;
        for (var i = 1; i < runs.Count; i++)
        {
            var a = runs[i];
            var b = runs[best];
            if (a.Accuracy > b.Accuracy || (a.Accuracy == b.Accuracy && (a.Loss ?? double.MaxValue) < (b.Loss ?? double.MaxValue)))
                best = i;
        }
        return best;
    }

    /// <summary>One row of formatted cells per run (accuracy as a percentage, the rest with 4 decimals).</summary>
    /// <param name="runs">The runs.</param>
    /// <param name="best">Index of the run marked " (best)", or null for none.</param>
    public static IReadOnlyList<string[]> Rows(IReadOnlyList<RunSummary> runs, int? best = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var c = CultureInfo.InvariantCulture;
        return runs.Select((r, i) => new[]
        {
            i == best ? r.Name + " (best)" : r.Name,
            r.Accuracy.ToString("P2", c),
            r.F1.ToString("F4", c),
            r.Precision.ToString("F4", c),
            r.Recall.ToString("F4", c),
            r.Loss?.ToString("F4", c) ?? "-",
            r.TrainSeconds.ToString("F1", c),
        }).ToList();
    }

    /// <summary>A Markdown table of the runs, the best one in bold when given.</summary>
    /// <param name="runs">The runs.</param>
    /// <param name="best">Index of the best run, or null.</param>
    public static string ToMarkdown(IReadOnlyList<RunSummary> runs, int? best = null)
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", Headers).Append(" |\n");
        text.Append('|').AppendJoin("|", Headers.Select((_, i) => i == 0 ? " --- " : " ---: ")).Append("|\n");
        var rows = Rows(runs, best);
        for (var i = 0; i < rows.Count; i++)
        {
            var cells = rows[i].Select(cell => cell.Replace("|", "\\|", StringComparison.Ordinal));
            if (i == best)
                cells = cells.Select(cell => $"**{cell}**");
            text.Append("| ").AppendJoin(" | ", cells).Append(" |\n");
        }
        return text.ToString();
    }

    /// <summary>
    /// CSV of the runs with raw numbers: run, folder, best (true/false), accuracy, f1, precision, recall, loss,
    /// train_seconds, then the given extra metrics.json keys (e.g. optimizer, learning_rate, batch_size).
    /// </summary>
    /// <param name="runs">The runs.</param>
    /// <param name="best">Index of the best run, or null.</param>
    /// <param name="extraKeys">Top-level metrics.json keys to add as columns.</param>
    public static string ToCsv(IReadOnlyList<RunSummary> runs, int? best = null, IReadOnlyList<string>? extraKeys = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var c = CultureInfo.InvariantCulture;
        var keys = extraKeys ?? [];
        var text = new StringBuilder("run,folder,best,accuracy,f1,precision,recall,loss,train_seconds");
        foreach (var key in keys)
            text.Append(',').Append(Field(key));
        text.Append('\n');
        for (var i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            text.Append(Field(r.Name)).Append(',').Append(Field(r.Directory)).Append(',').Append(i == best ? "true" : "false");
            foreach (var v in new double?[] { r.Accuracy, r.F1, r.Precision, r.Recall, r.Loss, r.TrainSeconds })
                text.Append(',').Append(v?.ToString("R", c) ?? "");
            foreach (var key in keys)
                text.Append(',').Append(Field(r.Metrics.Extra.TryGetPropertyValue(key, out var node) && node is not null ? node.ToJsonString().Trim('"') : ""));
            text.Append('\n');
        }
        return text.ToString();
    }

    private static string Field(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
