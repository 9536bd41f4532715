using System.Text.RegularExpressions;
using MLPipelines.Cli;
using MLPipelines.Cli.Commands;
using MLPipelines.Serving;

namespace MLPipelines.Tests.Cli;

/// <summary><c>mlpipelines serve</c>: every documented option reaches the serving options; mistakes are usage errors.</summary>
public sealed partial class ServeCommandTests
{
    private static ServeCommand.Plan Parse(params string[] argv) => ServeCommand.Parse(new Arguments(argv, new ServeCommand().Flags));

    [Fact]
    public void Defaults_and_every_documented_option_map_to_the_serving_options()
    {
        var plan = Parse("--model", "runs/m1");
        Assert.Equal("runs/m1", plan.Options.ModelPath);
        Assert.Null(plan.Options.IndexFolder);
        Assert.Equal("http://127.0.0.1:5000", plan.Options.Urls);
        Assert.Equal(20L * 1024 * 1024, plan.Options.MaxRequestBytes);
        Assert.Equal(ScoringMode.Pool, plan.Options.Scoring);
        Assert.False(plan.JsonLogs);

        plan = Parse("--model", "m.zip", "--index", "runs/knn", "--urls", "http://127.0.0.1:6001", "--max-request-mb", "3",
            "--max-image-pixels", "1000", "--top-k", "4", "--scoring", "batch", "--json-logs");
        Assert.Equal("runs/knn", plan.Options.IndexFolder);
        Assert.Equal("http://127.0.0.1:6001", plan.Options.Urls);
        Assert.Equal(3L * 1024 * 1024, plan.Options.MaxRequestBytes);
        Assert.Equal(1000, plan.Options.MaxImagePixels);
        Assert.Equal(4, plan.Options.TopK);
        Assert.Equal(ScoringMode.Batch, plan.Options.Scoring);
        Assert.True(plan.JsonLogs);

        // Every option the usage text documents is one of those above.
        var documented = OptionPattern().Matches(new ServeCommand().Usage).Select(m => m.Value).Distinct().Order().ToArray();
        Assert.Equal(new[] { "--index", "--json-logs", "--max-image-pixels", "--max-request-mb", "--model", "--scoring", "--top-k", "--urls" }, documented);
    }

    [Theory]
    [InlineData(new string[0], "--model")]
    [InlineData(new[] { "--model", "m.zip", "--scoring", "fast" }, "--scoring")]
    [InlineData(new[] { "--model", "m.zip", "--max-request-mb", "0" }, "--max-request-mb")]
    [InlineData(new[] { "--model", "m.zip", "--port", "5000" }, "--port")]
    [InlineData(new[] { "--model", "m.zip", "extra" }, "extra")]
    public void Mistakes_are_usage_errors_naming_the_option(string[] argv, string named)
    {
        var e = Assert.Throws<UsageException>(() => Parse(argv));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"--[a-z][a-z0-9-]+")]
    private static partial Regex OptionPattern();
}
