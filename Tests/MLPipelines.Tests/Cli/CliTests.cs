using MLPipelines.Cli;

namespace MLPipelines.Tests.Cli;

public sealed class CliTests
{
    [Fact]
    public void Parser_reads_values_flags_lists_and_positionals()
    {
        var args = new Arguments(["--epochs", "12", "--lr=0.5", "--no-standardize", "a.png", "--hidden", "64,32", "b.npy"], new HashSet<string> { "--no-standardize" });
        Assert.Equal(12, args.Int("--epochs", 1));
        Assert.Equal(0.5, args.Double("--lr", 0));
        Assert.True(args.Flag("--no-standardize"));
        Assert.Equal([64, 32], args.IntList("--hidden")!);
        Assert.Equal(["a.png", "b.npy"], args.Positionals);
        Assert.Equal(7, args.Int("--absent", 7));
        args.EnsureAllUsed();
    }

    [Theory]
    [InlineData(new[] { "--epochs", "x" }, "--epochs")]
    [InlineData(new[] { "--epochs", "0" }, "--epochs")]
    [InlineData(new[] { "--optimizer", "rmsprop" }, "--optimizer")]
    [InlineData(new[] { "--epochs" }, "--epochs")]
    [InlineData(new[] { "--hidden", "64,a" }, "--hidden")]
    public void Bad_values_name_the_option(string[] argv, string option)
    {
        var error = Assert.Throws<UsageException>(() =>
        {
            var args = new Arguments(argv, new HashSet<string>());
            args.Int("--epochs", 1, min: 1);
            args.Enum("--optimizer", MLPipelines.Mlp.OptimizerKind.Sgd);
            args.IntList("--hidden");
        });
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_or_repeated_options_are_errors()
    {
        var args = new Arguments(["--epoch", "3"], new HashSet<string>());
        args.Int("--epochs", 1);
        Assert.Contains("--epoch", Assert.Throws<UsageException>(args.EnsureAllUsed).Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => new Arguments(["--seed", "1", "--seed", "2"], new HashSet<string>()));
    }

    [Fact]
    public void Exit_codes_distinguish_usage_errors_from_failures()
    {
        Assert.Equal(2, Program.Main(["m1", "--bogus", "1"]));
        Assert.Equal(2, Program.Main(["no-such-command"]));
        Assert.Equal(0, Program.Main(["m1", "--help"]));
        Assert.Equal(1, Program.Main(["m1", "--data", Path.Combine(Path.GetTempPath(), "mlpipelines-no-such-folder")]));
        Assert.Equal(1, Program.Main(["predict", "--model", Path.Combine(Path.GetTempPath(), "missing-model.zip"), "x.png"]));
    }
}
