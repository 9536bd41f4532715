using System.Text.Json;
using System.Text.RegularExpressions;
using MLPipelines.Cli;
using MLPipelines.Cli.Commands;
using MLPipelines.Data;
using MLPipelines.Testing;

namespace MLPipelines.Tests.Cli;

/// <summary>
/// Every option a training command documents must reach the options object its run uses: for each option in the
/// command's usage text, parsing the command's base arguments with and without that option must give different
/// run options (compared as a deep dump of the parsed plan), and the option must be consumed.
/// </summary>
public sealed partial class CliOptionMappingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlp-cli-map-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>A value different from the command's default for each option (flags take none).</summary>
    private static readonly Dictionary<string, string> Samples = new(StringComparer.Ordinal)
    {
        ["--data"] = "other-data", ["--classes"] = "1,2,3", ["--image-size"] = "36", ["--epochs"] = "7",
        ["--seed"] = "5", ["--seeds"] = "5,6", ["--out"] = "other-out", ["--test-data"] = "test-folder",
        ["--hidden"] = "32,16", ["--activation"] = "tanh", ["--optimizer"] = "sgd", ["--lr"] = "0.0123",
        ["--batch-size"] = "17", ["--dropout"] = "0.33", ["--l2"] = "0.005", ["--patience"] = "9", ["--shift"] = "3",
        ["--validation-fraction"] = "0.3", ["--device"] = "cpu", ["--weight-decay"] = "0.0077", ["--schedule"] = "cosine",
        ["--step-size"] = "3", ["--gamma"] = "0.3", ["--threads"] = "3", ["--preset"] = "plain3",
        ["--backbone"] = "densenet121", ["--strategy"] = "progressive", ["--weights"] = "none", ["--head-lr-multiplier"] = "10",
        ["--recipe"] = "best", ["--rotation"] = "7", ["--zoom"] = "0.15", ["--translate"] = "1.5", ["--warmup"] = "5",
        ["--normalize"] = "image", ["--background-copies"] = "2", ["--supersample"] = "2", ["--precision"] = "bf16",
        ["--label-smoothing"] = "0.1", ["--unfreeze"] = "2,4", ["--k"] = "3", ["--metric"] = "cosine",
        ["--head"] = "linear", ["--margin"] = "0.3", ["--scale"] = "24",
        ["--augment"] = "none", ["--crop-scale"] = "0.5", ["--mixup"] = "0.4", ["--cutmix"] = "0.5",
        ["--weighting"] = "distance", ["--cache"] = "cache-folder", ["--input"] = "in2", ["--output"] = "out2", ["--models"] = "models-folder",
    };

    /// <summary>Options whose sample must differ per command, because the command's default is the generic sample.</summary>
    private static readonly Dictionary<(string Command, string Option), string> CommandSamples = new()
    {
        [("m3-cnn", "--dataset")] = StanfordCars.FolderName,
        [("m3-cnn", "--recipe")] = "course", // best is m3-cnn's default
        [("m3-cnn", "--label-smoothing")] = "0.2", // best uses 0.1
        [("m3-cnn", "--precision")] = "fp32", // best trains in bf16
        [("m3-knn", "--dataset")] = SignLanguageDigits.FolderName,
        [("m3-knn", "--backbone")] = "mobilenetv2",
        [("m3-transfer", "--recipe")] = "course",
        [("m3-knn", "--recipe")] = "course",
        [("m3-transfer", "--schedule")] = "step",
    };

    /// <summary>Arguments under which an option can matter at all, added to both sides of its comparison.</summary>
    private static readonly Dictionary<(string Command, string Option), string[]> CommandContexts = new()
    {
        // The default dataset's recipe trains NCHW already; the cars recipe trains channels-last.
        [("m3-cnn", "--no-channels-last")] = ["--dataset", StanfordCars.FolderName],
    };

    public static TheoryData<string> Commands() => ["m1", "m2", "m3-cnn", "m3-transfer", "m3-knn"];

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_documented_option_reaches_the_run_options(string name)
    {
        var (command, parse) = Command(name);
        string[] baseArgs = name is "m3-transfer" or "m3-knn" ? ["--data", _root] : [];
        string baseline = ObjectDump.Of(ParseAll(command, parse, baseArgs));
        var options = OptionPattern().Matches(command.Usage).Select(m => m.Value).Distinct().ToList();
        Assert.True(options.Count >= 10, $"{name}: only {options.Count} options found in its usage text");
        var unchanged = new List<string>();
        foreach (var option in options)
        {
            if (option == "--data" && baseArgs.Length > 0)
                continue; // required: covered by every other case
            var context = CommandContexts.GetValueOrDefault((name, option));
            string[] args = context is null ? baseArgs : [.. baseArgs, .. context];
            string[] argv = command.Flags.Contains(option)
                ? [.. args, option]
                : [.. args, option, CommandSamples.GetValueOrDefault((name, option)) ?? Samples[option]];
            var reference = context is null ? baseline : ObjectDump.Of(ParseAll(command, parse, args));
            if (ObjectDump.Of(ParseAll(command, parse, argv)) == reference)
                unchanged.Add(option);
        }
        Assert.True(unchanged.Count == 0, $"{name}: these options do not change the run's options: {string.Join(", ", unchanged)}");
    }

    [Fact]
    public void M1_with_all_classes_on_a_two_class_folder_runs_the_epochs_asked_for()
    {
        // Before: the CLI built the multiclass options for "all", the experiment saw two classes and used the binary
        // defaults instead, so --epochs 3 ran 100 epochs.
        var data = SyntheticImages.Write(Path.Combine(_root, "data", SignLanguageDigits.FolderName), ["a", "b"], perClass: 10, seed: 3, size: 28, noise: 60);
        var output = Path.Combine(_root, "run");
        Assert.Equal(0, Program.Main(["m1", "--data", Path.GetDirectoryName(data)!, "--classes", "all", "--epochs", "3", "--hidden", "8", "--out", output]));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal(3, metrics.RootElement.GetProperty("epochs_run").GetInt32());
        Assert.Equal("784-8-1", metrics.RootElement.GetProperty("network").GetString());
    }

    [Fact]
    public void Repeated_seeds_are_a_usage_error()
    {
        var args = new Arguments(["--seeds", "1,1"], new HashSet<string>());
        Assert.Contains("--seeds", Assert.Throws<UsageException>(() => args.Seeds()).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("m3-cnn")]
    [InlineData("m3-transfer")]
    public void Channels_last_and_its_negation_together_are_a_usage_error_naming_both(string name)
    {
        var (command, parse) = Command(name);
        var e = Assert.Throws<UsageException>(() => ParseAll(command, parse, ["--data", _root, "--channels-last", "--no-channels-last"]));
        Assert.Contains("--channels-last and --no-channels-last", e.Message, StringComparison.Ordinal);
        var cars = M3CnnCommand.Parse(new Arguments(["--dataset", StanfordCars.FolderName, "--no-channels-last"], new M3CnnCommand().Flags));
        Assert.False(cars.Options.ChannelsLast); // the negation overrides the cars recipe's channels-last
    }

    private static object ParseAll(ICommand command, Func<Arguments, object> parse, string[] argv)
    {
        var args = new Arguments(argv, command.Flags);
        var plan = parse(args);
        args.EnsureAllUsed();
        return plan;
    }

    private static (ICommand Command, Func<Arguments, object> Parse) Command(string name) => name switch
    {
        "m1" => (new M1Command(), a => M1Command.Parse(a)),
        "m2" => (new M2Command(), a => M2Command.Parse(a)),
        "m3-cnn" => (new M3CnnCommand(), a => M3CnnCommand.Parse(a)),
        "m3-transfer" => (new M3TransferCommand(), a => M3TransferCommand.Parse(a)),
        "m3-knn" => (new M3KnnCommand(), a => M3KnnCommand.Parse(a)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [GeneratedRegex(@"--[a-z][a-z0-9-]*[a-z0-9]")]
    private static partial Regex OptionPattern();
}
