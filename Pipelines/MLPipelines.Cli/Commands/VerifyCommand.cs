using System.Text.Json;
using MLPipelines.Pipelines.Models;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines verify</c>: does this host preprocess images as the host that saved the model did?</summary>
internal sealed class VerifyCommand : ICommand
{
    public string Name => "verify";

    public string Summary => "Check that this host preprocesses images as the model's training host did (exit 3 if not).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--json" };

    public string Usage => """
        mlpipelines verify --model model.zip [--json]

        Runs a built-in probe image through the zip's own image steps (decoding and resizing happen in ML.NET's
        ImageAnalytics/SkiaSharp, outside the ONNX graph, and have changed between releases) and compares the
        pixels with the fingerprint saved in the zip, or, for zips saved before fingerprints existed, with a
        built-in reference of ML.NET 5.0.1 (the release those zips were trained with). Prints the result with the
        number of differing pixel values and the largest difference in grey levels. --json prints it as JSON.

        Exit codes: 0 the pixels match (or the model has no image steps, or there is nothing to compare with: see
        the message), 3 the pixels differ (predictions can differ from those at training time), 1 the model could
        not be read, 2 usage error.
        """;

    internal sealed record Plan(string Model, bool Json);

    internal static Plan Parse(Arguments args)
    {
        var model = args.String("--model") ?? throw new UsageException("--model is required.");
        var json = args.Flag("--json");
        args.EnsureAllUsed();
        if (args.Positionals.Count > 0)
            throw new UsageException($"Unexpected argument '{args.Positionals[0]}'; give the model with --model.");
        return new Plan(model, json);
    }

    public int Run(Arguments args)
    {
        var plan = Parse(args);
        var check = ModelPackage.VerifyPreprocessing(plan.Model);
        if (plan.Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new
            {
                model = check.ModelPath,
                status = check.Status.ToString().ToLowerInvariant(),
                reference = check.Reference,
                host = check.Host,
                max_difference = check.MaxDifference,
                mean_difference = double.IsFinite(check.MeanDifference) ? check.MeanDifference : (double?)null,
                differing_values = check.DifferingValues,
                total_values = check.TotalValues,
                message = check.Message,
            }));
        }
        else
        {
            Console.Out.WriteLine(check.Message);
        }
        return check.Status == PreprocessingStatus.Mismatch ? ExitCodes.VerificationFailed : ExitCodes.Ok;
    }
}
