using System.Globalization;
using MLPipelines.Pipelines.Milestones;
using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines similar</c>: the nearest training images of a query, with an m3-knn run folder.</summary>
internal sealed class SimilarCommand : ICommand
{
    public string Name => "similar";

    public string Summary => "Find the training images most similar to a query image (m3-knn run folder).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string>();

    public string Usage => """
        mlpipelines similar --model DIR IMAGE [--k 8] [--out gallery.png]

        Embeds IMAGE with the run's model.zip (its backbone), finds the k nearest training images in the run's
        knn-index.npz, prints rank, label, distance and path, and writes a gallery PNG (query + neighbours with
        labels; default DIR/similar-<image name>.png).
        """;

    public int Run(Arguments args)
    {
        var folder = args.String("--model") ?? throw new UsageException("--model DIR (an m3-knn output folder) is required.");
        int k = args.Int("--k", 8, 1);
        var output = args.String("--out");
        args.EnsureAllUsed();
        if (args.Positionals.Count != 1)
            throw new UsageException("Give exactly one query IMAGE.");
        if (File.Exists(folder) && folder.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            folder = Path.GetDirectoryName(Path.GetFullPath(folder)) ?? ".";
        var image = args.Positionals[0];
        var result = SimilarImages.Find(folder, image, k);
        Console.Out.WriteLine($"query {image}: predicted {result.PredictedLabel}");
        Console.Out.WriteLine("rank\tlabel\tdistance\tpath");
        foreach (var n in result.Neighbors)
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n.Rank + 1}\t{n.LabelName}\t{n.Distance:G6}\t{n.SourceId}"));
        output ??= Path.Combine(folder, $"similar-{Path.GetFileNameWithoutExtension(image)}.png");
        SimilarImages.SaveGallery(result, output);
        Console.Out.WriteLine($"gallery: {output}");
        return 0;
    }
}
