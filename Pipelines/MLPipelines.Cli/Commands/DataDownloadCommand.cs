using MLPipelines.Data;
using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines data download</c>: fetch a public dataset into the data folder.</summary>
internal sealed class DataDownloadCommand : ICommand
{
    public string Name => "data download";

    public string Summary => "Download the public sign-language-digits dataset (resumable, checksummed).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--overwrite", "--keep-archive" };

    public string Usage => $"""
        mlpipelines data download sign-language-digits [--data DIR] [--url URL] [--sha256 HASH] [--overwrite] [--keep-archive]

        Downloads the GitHub archive of ardamavi/Sign-Language-Digits-Dataset (Apache-2.0) into
        DIR/{SignLanguageDigits.FolderName}/<digit>/ (DIR: --data, else $MLPIPELINES_DATA). A broken download resumes from
        its .part file; --sha256 verifies the archive. --url points at a mirror.
        """;

    public int Run(Arguments args)
    {
        if (args.Positionals.Count != 1 || args.Positionals[0] != SignLanguageDigits.FolderName)
            throw new UsageException($"Name the dataset to download: {SignLanguageDigits.FolderName}.");
        var root = args.String("--data") ?? Environment.GetEnvironmentVariable(DatasetLocator.EnvironmentVariable)
            ?? throw new UsageException($"Give --data DIR or set {DatasetLocator.EnvironmentVariable}.");
        var url = args.String("--url");
        var options = new SignLanguageDigitsDownloadOptions
        {
            Url = url is null ? new Uri(SignLanguageDigitsDownload.DefaultUrl) : new Uri(url),
            ExpectedSha256 = args.String("--sha256"),
            Overwrite = args.Flag("--overwrite"),
            KeepArchive = args.Flag("--keep-archive"),
        };
        args.EnsureAllUsed();
        string folder = "";
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("download", maxValue: 1);
                task.IsIndeterminate = true;
                var progress = new SynchronousProgress<DownloadProgress>(p =>
                {
                    if (p.TotalBytes is long total && total > 0)
                    {
                        task.IsIndeterminate = false;
                        task.MaxValue = total;
                    }
                    task.Value = p.BytesReceived;
                });
                folder = SignLanguageDigitsDownload.DownloadAsync(Path.GetFullPath(root), options, progress).GetAwaiter().GetResult();
            });
        AnsiConsole.WriteLine($"Dataset ready in {folder}");
        return 0;
    }
}
