using MLPipelines.Cli.Commands;
using Spectre.Console;

namespace MLPipelines.Cli;

/// <summary>The <c>mlpipelines</c> command-line tool.</summary>
internal static class Program
{
    private static readonly ICommand[] Commands =
    [
        new M1Command(),
        new M2Command(),
        new M3CnnCommand(),
        new SweepCommand(),
        new CompareCommand(),
        new M3TransferCommand(),
        new M3KnnCommand(),
        new SimilarCommand(),
        new PredictCommand(),
        new ServeCommand(),
        new DataDownloadCommand(),
    ];

    internal static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            PrintHelp(args.Length > 1 ? args[1..] : []);
            return args.Length == 0 ? 1 : 0;
        }
        var command = Commands.FirstOrDefault(c => Matches(c, args));
        if (command is null)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Unknown command '{string.Join(' ', args.Take(2))}'.[/]");
            PrintHelp([]);
            return 2;
        }
        var rest = args.Skip(command.Name.Split(' ').Length).ToArray();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            AnsiConsole.WriteLine(command.Usage);
            return 0;
        }
        try
        {
            var parsed = new Arguments(rest, command.Flags);
            return command.Run(parsed);
        }
        catch (UsageException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            AnsiConsole.WriteLine();
            AnsiConsole.WriteLine(command.Usage);
            return 2;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException
                                      or InvalidOperationException or FormatException or HttpRequestException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {OptionNames.Describe(e)}");
            if (Environment.GetEnvironmentVariable("MLPIPELINES_DEBUG") == "1")
                AnsiConsole.WriteException(e);
            return 1;
        }
    }

    private static bool Matches(ICommand command, string[] args)
    {
        var words = command.Name.Split(' ');
        return args.Length >= words.Length && words.SequenceEqual(args.Take(words.Length), StringComparer.Ordinal);
    }

    private static void PrintHelp(string[] topic)
    {
        var command = topic.Length > 0 ? Commands.FirstOrDefault(c => Matches(c, topic)) : null;
        if (command is not null)
        {
            AnsiConsole.WriteLine(command.Usage);
            return;
        }
        AnsiConsole.WriteLine("mlpipelines — deep-learning pipelines for ML.NET (models save as ordinary ML.NET zips).");
        AnsiConsole.WriteLine();
        AnsiConsole.WriteLine("Commands:");
        foreach (var c in Commands)
            AnsiConsole.WriteLine($"  {c.Name,-24} {c.Summary}");
        AnsiConsole.WriteLine();
        AnsiConsole.WriteLine("Run 'mlpipelines <command> --help' for its options. Datasets are found through --data or the");
        AnsiConsole.WriteLine("MLPIPELINES_DATA environment variable (a folder holding e.g. sign-language-digits/).");
    }
}

/// <summary>A CLI command.</summary>
internal interface ICommand
{
    /// <summary>Command words, e.g. "m1" or "data download".</summary>
    string Name { get; }

    /// <summary>One-line description.</summary>
    string Summary { get; }

    /// <summary>Full usage text.</summary>
    string Usage { get; }

    /// <summary>Options that take no value.</summary>
    IReadOnlySet<string> Flags { get; }

    /// <summary>Runs the command; returns the process exit code.</summary>
    int Run(Arguments args);
}
