using System.Diagnostics;
using System.Text.Json;
using MLPipelines.Pipelines.Reporting;

namespace MLPipelines.Tests.Cli;

/// <summary>
/// The CLI run as a separate process with redirected (piped) streams, as scripts see it: results on stdout,
/// errors and warnings on stderr, documented exit codes, unwrapped help.
/// </summary>
public sealed class CliConventionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlp-cli-conv-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlpipelines.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }

    [Fact]
    public void Version_help_and_subcommand_help_go_to_stdout_with_exit_0()
    {
        var version = Run("--version");
        Assert.Equal((0, ""), (version.Code, version.Err));
        Assert.Matches(@"^mlpipelines \d+\.\d+\.\d+\S*\n$", version.Out.Replace("\r", ""));

        var help = Run("--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("Exit codes: 0 success; 1 runtime error", help.Out, StringComparison.Ordinal);
        // Piped help is not hard-wrapped: the longest summary stays on its command's line.
        Assert.Contains("  verify                   Check that this host preprocesses images as the model's training host did (exit 3 if not).", help.Out, StringComparison.Ordinal);

        foreach (var (group, sub) in new[] { ("sweep", "sweep m2"), ("data", "data download") })
        {
            var r = Run(group, "--help");
            Assert.True(r.Code == 0, $"{group} --help: exit {r.Code}, stderr {r.Err}");
            Assert.Contains(sub, r.Out, StringComparison.Ordinal);
            Assert.Equal("", r.Err);
        }
        Assert.Contains("--optimizer", Run("sweep", "m2", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("--model", Run("help", "verify").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_go_to_stderr_with_usage_exit_2_or_runtime_exit_1()
    {
        var none = Run();
        Assert.Equal((2, ""), (none.Code, none.Out));
        Assert.Contains("Commands:", none.Err, StringComparison.Ordinal);

        var unknown = Run("no-such-command");
        Assert.Equal((2, ""), (unknown.Code, unknown.Out));
        Assert.StartsWith("error: Unknown command 'no-such-command'", unknown.Err, StringComparison.Ordinal);

        var option = Run("m1", "--bogus", "1");
        Assert.Equal((2, ""), (option.Code, option.Out));
        Assert.Contains("--bogus", option.Err, StringComparison.Ordinal);

        string missing = Path.Combine(_dir, "missing-model.zip");
        var runtime = Run("predict", "--model", missing, "x.png");
        Assert.Equal((1, ""), (runtime.Code, runtime.Out));
        Assert.Contains(missing, runtime.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_json_prints_one_object_per_run_and_marks_the_best()
    {
        string[] runs = [Path.Combine(_dir, "a"), Path.Combine(_dir, "b")];
        double[] accuracies = [0.8, 0.9];
        for (int i = 0; i < 2; i++)
        {
            Directory.CreateDirectory(runs[i]);
            MetricsJson.Write(Path.Combine(runs[i], MetricsJson.FileName), new MetricsDocument
            {
                Validation = new SplitMetrics { Accuracy = accuracies[i], F1 = accuracies[i] - 0.1, Loss = 0.5 - i * 0.1, Classes = ["x", "y"], Confusion = [[1, 0], [0, 1]], Count = 2 },
                TrainSeconds = 10 + i,
            });
        }

        var r = Run("compare", runs[0], runs[1], "--json");
        Assert.True(r.Code == 0, r.Err);
        using var json = JsonDocument.Parse(r.Out);
        var items = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(["a", "b"], items.Select(e => e.GetProperty("run").GetString()));
        Assert.Equal([0.8, 0.9], items.Select(e => e.GetProperty("accuracy").GetDouble()));
        Assert.Equal([false, true], items.Select(e => e.GetProperty("best").GetBoolean()));
        Assert.Equal(11, items[1].GetProperty("train_seconds").GetDouble());
        Assert.Equal(2, Run("compare", runs[0], "--json", "--markdown").Code);
    }
}
