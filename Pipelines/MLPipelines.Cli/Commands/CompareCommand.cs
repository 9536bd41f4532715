using System.Text.Json;
using MLPipelines.Pipelines.Reporting;
using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines compare</c>: the summary table of finished runs.</summary>
internal sealed class CompareCommand : ICommand
{
    public string Name => "compare";

    public string Summary => "Summary table (accuracy, F1, precision, recall, loss, train time) of finished runs.";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--markdown", "--json" };

    public string Usage => """
        mlpipelines compare RUN_DIR... [--markdown | --json]

        Reads metrics.json of each run folder and prints the validation accuracy, F1, precision, recall, loss and
        training time, the best run (highest accuracy, then lowest loss) marked. --markdown prints a Markdown table,
        --json a JSON array (one object per run: run, directory, accuracy, f1, precision, recall, loss,
        train_seconds, best).
        """;

    public int Run(Arguments args)
    {
        var markdown = args.Flag("--markdown");
        var json = args.Flag("--json");
        args.EnsureAllUsed();
        if (markdown && json)
            throw new UsageException("Give --markdown or --json, not both.");
        if (args.Positionals.Count == 0)
            throw new UsageException("Give at least one run folder (holding metrics.json).");
        var runs = args.Positionals.Select(p => RunSummary.Read(p)).ToList();
        var names = runs.GroupBy(r => r.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        if (names.Count > 0)
            runs = runs.Select((r, i) => names.Contains(r.Name) ? r with { Name = args.Positionals[i] } : r).ToList();
        var best = RunComparison.Best(runs);
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(runs.Select((r, i) => new
            {
                run = r.Name,
                directory = r.Directory,
                accuracy = Finite(r.Accuracy),
                f1 = Finite(r.F1),
                precision = Finite(r.Precision),
                recall = Finite(r.Recall),
                loss = r.Loss is double l ? Finite(l) : null,
                train_seconds = Finite(r.TrainSeconds),
                best = i == best,
            }), new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Print(runs, best, markdown);
        return 0;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    internal static void Print(IReadOnlyList<RunSummary> runs, int best, bool markdown)
    {
        if (markdown)
        {
            Console.Out.Write(RunComparison.ToMarkdown(runs, best));
            return;
        }
        var table = new Table().AddColumns(RunComparison.Headers.Select(h => new TableColumn(Markup.Escape(h))).ToArray());
        foreach (var column in table.Columns.Skip(1))
            column.RightAligned();
        var rows = RunComparison.Rows(runs, best);
        for (var i = 0; i < rows.Count; i++)
            table.AddRow(rows[i].Select(c => i == best ? $"[bold green]{Markup.Escape(c)}[/]" : Markup.Escape(c)).ToArray());
        AnsiConsole.Write(table);
    }
}
