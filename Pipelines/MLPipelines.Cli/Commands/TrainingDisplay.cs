using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary>Turns the library's progress reports into a Spectre.Console progress bar (or plain lines when not interactive).</summary>
internal static class TrainingDisplay
{
    /// <summary>Runs <paramref name="work"/> with a progress bar fed by the <see cref="IProgress{T}"/> it receives.</summary>
    /// <param name="title">The bar's title.</param>
    /// <param name="epochs">The epochs the bar counts to.</param>
    /// <param name="work">The run, given the epoch and log receivers.</param>
    /// <param name="scoreLabel">What the per-epoch scores are measured on: "val" (the validation split) or "holdout" (a hold-out of the training split, under early stopping).</param>
    public static T Run<T>(string title, int epochs, Func<IProgress<EpochRecord>, IProgress<string>, T> work, string scoreLabel = "val")
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            return work(new SynchronousProgress<EpochRecord>(r =>
            {
                if (r.Epoch == 1 || r.Epoch % 10 == 0 || r.Epoch == epochs || r.Seconds >= 5)
                    AnsiConsole.WriteLine($"  {Describe(r, epochs, scoreLabel)}");
            }), new SynchronousProgress<string>(s => AnsiConsole.WriteLine(s)));
        }
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: epochs);
                var epochProgress = new SynchronousProgress<EpochRecord>(r =>
                {
                    task.Value = r.Epoch;
                    task.Description = $"{title} {Markup.Escape(Describe(r, epochs, scoreLabel))}";
                });
                result = work(epochProgress, new SynchronousProgress<string>(s => AnsiConsole.MarkupLineInterpolated($"[grey]{s}[/]")));
                task.Value = task.MaxValue;
            });
        return result;
    }

    private static string Describe(EpochRecord r, int epochs, string scoreLabel)
    {
        var text = $"epoch {r.Epoch}/{epochs} loss {r.TrainLoss:F4} acc {r.TrainAccuracy:P1}";
        if (r.Seconds >= 1)
            text += $" {r.Seconds:F1}s";
        if (r.ValidationLoss is double vl && r.ValidationAccuracy is double va)
            text += $" | {scoreLabel} loss {vl:F4} acc {va:P1}";
        return text;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that calls its handler on the reporting thread (no synchronisation context hop).</summary>
internal sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
