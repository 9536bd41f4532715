using System.Reflection;
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
        new VerifyCommand(),
        new ServeCommand(),
        new DataDownloadCommand(),
    ];

    internal static int Main(string[] args)
    {
        if (args is ["--version"] or ["version"])
        {
            Console.Out.WriteLine($"mlpipelines {Version}");
            return ExitCodes.Ok;
        }
        if (args.Length == 0)
        {
            // No command: a usage error; the help goes to stderr so that stdout stays empty.
            Console.Error.Write(GeneralHelp());
            return ExitCodes.Usage;
        }
        if (args[0] is "help" or "--help" or "-h")
            return PrintHelp(args[1..]);
        var command = Commands.FirstOrDefault(c => Matches(c, args));
        if (command is null)
        {
            // "sweep", "sweep --help", "data", "data --help": the group's sub-commands.
            var group = Commands.Where(c => c.Name.Contains(' ') && c.Name.Split(' ')[0] == args[0]).ToList();
            if (group.Count > 0 && (args.Length == 1 || args[1] is "--help" or "-h"))
            {
                var text = GroupHelp(args[0], group);
                (args.Length == 1 ? Console.Error : Console.Out).Write(text);
                return args.Length == 1 ? ExitCodes.Usage : ExitCodes.Ok;
            }
            Errors.Error($"Unknown command '{string.Join(' ', args.Take(group.Count > 0 ? 2 : 1))}'. Run 'mlpipelines --help' for the list.");
            return ExitCodes.Usage;
        }
        var rest = args.Skip(command.Name.Split(' ').Length).ToArray();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            Console.Out.WriteLine(command.Usage);
            return ExitCodes.Ok;
        }
        try
        {
            var parsed = new Arguments(rest, command.Flags);
            return command.Run(parsed);
        }
        catch (UsageException e)
        {
            Errors.Error(e.Message);
            Console.Error.WriteLine();
            Console.Error.WriteLine(command.Usage);
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException
                                      or InvalidOperationException or FormatException or HttpRequestException
                                      or NotSupportedException or OperationCanceledException)
        {
            Errors.Error(OptionNames.Describe(e));
            if (Environment.GetEnvironmentVariable("MLPIPELINES_DEBUG") == "1")
                Console.Error.WriteLine(e);
            return ExitCodes.RuntimeError;
        }
    }

    /// <summary>The tool's version (the package version, without the source revision).</summary>
    internal static string Version =>
        (typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    private static bool Matches(ICommand command, string[] args)
    {
        var words = command.Name.Split(' ');
        return args.Length >= words.Length && words.SequenceEqual(args.Take(words.Length), StringComparer.Ordinal);
    }

    private static int PrintHelp(string[] topic)
    {
        if (topic.Length == 0)
        {
            Console.Out.Write(GeneralHelp());
            return ExitCodes.Ok;
        }
        var command = Commands.FirstOrDefault(c => Matches(c, topic));
        if (command is not null)
        {
            Console.Out.WriteLine(command.Usage);
            return ExitCodes.Ok;
        }
        var group = Commands.Where(c => c.Name.Split(' ')[0] == topic[0]).ToList();
        if (group.Count > 0)
        {
            Console.Out.Write(GroupHelp(topic[0], group));
            return ExitCodes.Ok;
        }
        Errors.Error($"No help for '{string.Join(' ', topic)}': unknown command. Run 'mlpipelines --help' for the list.");
        return ExitCodes.Usage;
    }

    // Plain Console writes: Spectre's console hard-wraps at 80 columns when output is redirected.
    internal static string GeneralHelp()
    {
        var text = new StringWriter { NewLine = "\n" };
        text.WriteLine($"mlpipelines {Version} — deep-learning pipelines for ML.NET (models save as ordinary ML.NET zips).");
        text.WriteLine();
        text.WriteLine("Usage: mlpipelines <command> [options]      mlpipelines <command> --help      mlpipelines --version");
        text.WriteLine();
        text.WriteLine("Commands:");
        foreach (var c in Commands)
            text.WriteLine($"  {c.Name,-24} {c.Summary}");
        text.WriteLine();
        text.WriteLine("Datasets are found through --data or the MLPIPELINES_DATA environment variable (a folder holding e.g. sign-language-digits/).");
        text.WriteLine("Results go to stdout; errors and warnings to stderr (MLPIPELINES_DEBUG=1 adds the stack trace).");
        text.WriteLine();
        text.WriteLine("Exit codes: 0 success; 1 runtime error (bad input file, failed training, I/O); 2 usage error (unknown command or");
        text.WriteLine("option, missing or invalid option value); 3 verify: the model's image preprocessing differs on this host.");
        return text.ToString();
    }

    private static string GroupHelp(string word, IReadOnlyList<ICommand> group)
    {
        var text = new StringWriter { NewLine = "\n" };
        text.WriteLine($"mlpipelines {word} <sub-command> [options]");
        text.WriteLine();
        text.WriteLine("Sub-commands:");
        foreach (var c in group)
            text.WriteLine($"  {c.Name,-24} {c.Summary}");
        foreach (var c in group)
        {
            text.WriteLine();
            text.WriteLine(c.Usage);
        }
        return text.ToString();
    }
}

/// <summary>The process exit codes (documented in <c>mlpipelines --help</c>).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int RuntimeError = 1;
    public const int Usage = 2;
    public const int VerificationFailed = 3;
}

/// <summary>Errors and warnings, on stderr, never wrapped (red/yellow prefix only when stderr is a terminal).</summary>
internal static class Errors
{
    public static void Error(string message) => Write("error:", "31", message);

    public static void Warning(string message) => Write("warning:", "33", message);

    private static void Write(string prefix, string colour, string message)
    {
        bool colours = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
        Console.Error.WriteLine(colours ? $"\u001b[1;{colour}m{prefix}\u001b[0m {message}" : $"{prefix} {message}");
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
