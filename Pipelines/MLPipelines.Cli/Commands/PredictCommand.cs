using System.Globalization;
using System.Text.Json;
using MLPipelines.Pipelines.Models;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines predict</c>: classify images or .npy arrays with a saved model zip.</summary>
internal sealed class PredictCommand : ICommand
{
    public string Name => "predict";

    public string Summary => "Predict images or .npy pixel arrays with a model.zip.";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--json" };

    public string Usage => """
        mlpipelines predict --model model.zip|RUN_DIR FILE... [--json]

        Prints the predicted class and its probability for each file. --model is a model zip or a finished run
        folder (its model.zip). FILE is an image (.jpg, .png, .bmp, ...) or a .npy array of pixel levels (0-255 or
        0-1; float32, float64, uint8 or int64). A grayscale model trained at image size S reads S*S values per image:
        (S, S), (S*S,), (N, S, S) or (N, S*S) (e.g. 28: 784 values, the course's unseen-example format for m1/m2); an
        RGB model (m3-cnn, m3-transfer; m3-knn at 224) reads 3*S*S values per image, channels first (3, S, S) or
        channels last (S, S, 3) as numpy/PIL give, with an optional leading batch dimension N, or flat rows (3*S*S,)
        channels first; other shapes are refused with the layouts the model wants. Every good file is answered; each
        file that cannot be scored is reported on stderr, and the exit code is then 1.

        Before predicting, the model's image preprocessing is checked on this host (see 'mlpipelines verify'): when
        it gives other pixels than on the training host, a warning on stderr names the model and the difference.
        """;

    public int Run(Arguments args)
    {
        var model = args.String("--model") ?? throw new UsageException("--model is required.");
        var json = args.Flag("--json");
        args.EnsureAllUsed();
        if (args.Positionals.Count == 0)
            throw new UsageException("Give at least one image or .npy file.");
        var predictor = ImageModelPredictor.Load(model);
        if (predictor.Preprocessing.Status is PreprocessingStatus.Mismatch or PreprocessingStatus.Unknown)
            Errors.Warning(predictor.Preprocessing.Message);
        var outcomes = predictor.PredictEach(args.Positionals);
        var predictions = outcomes.SelectMany(o => o.Predictions).ToList();
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(predictions.Select(p => new { file = p.File, row = p.Row, label = p.Label, probability = p.Probability })));
        }
        else
        {
            foreach (var p in predictions)
            {
                var where = p.Row is int r ? $"{p.File}[{r}]" : p.File;
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{where}\t{p.Label}\t{p.Probability:F4}"));
            }
        }
        var failed = outcomes.Where(o => o.Error is not null).ToList();
        foreach (var f in failed)
            Console.Error.WriteLine($"error: {f.Error}");
        if (failed.Count > 0)
            Console.Error.WriteLine($"{failed.Count} of {outcomes.Count} files could not be scored.");
        return failed.Count > 0 ? 1 : 0;
    }
}
