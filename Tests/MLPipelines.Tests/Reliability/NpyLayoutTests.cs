using MLPipelines.Data;
using MLPipelines.IO;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Models;
using MLPipelines.Testing;

namespace MLPipelines.Tests.Reliability;

/// <summary>
/// An RGB model reads an image given as a channels-first (3, S, S) or a channels-last (S, S, 3) .npy (what numpy/PIL
/// users have) with the same result, and refuses an ambiguous or wrong layout naming the file and the layout it wants.
/// </summary>
public sealed class NpyLayoutTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlp-npy-layout-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Rgb_model_scores_hwc_and_chw_arrays_of_the_same_image_identically()
    {
        const int size = 8;
        var data = SyntheticImages.Write(Path.Combine(_root, "data", SignLanguageDigits.FolderName), ["a", "b"], perClass: 10, seed: 5, size: size, noise: 60);
        var run = Path.Combine(_root, "run");
        Milestone1.Run(new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), ImageSize = size, Grayscale = false, OutputDirectory = run },
            new Milestone1Options { Epochs = 3, HiddenLayers = [8] });
        var predictor = ImageModelPredictor.Load(run);

        var random = new Random(3);
        var chw = new double[3 * size * size];
        for (int i = 0; i < chw.Length; i++) chw[i] = random.Next(256);
        var hwc = new double[chw.Length];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    hwc[(((y * size) + x) * 3) + c] = chw[(((c * size) + y) * size) + x];
        string chwPath = Path.Combine(_root, "chw.npy"), hwcPath = Path.Combine(_root, "hwc.npy");
        Npy.Write(chwPath, NpyArray.FromFloat64(chw, 3, size, size));
        Npy.Write(hwcPath, NpyArray.FromFloat64(hwc, size, size, 3));

        var fromChw = Assert.Single(predictor.Predict([chwPath]));
        var fromHwc = Assert.Single(predictor.Predict([hwcPath]));
        Assert.Equal(fromChw.Label, fromHwc.Label);
        Assert.Equal(fromChw.Probability, fromHwc.Probability, 6);

        // A transposed image that is not the same picture must not score the same: the layouts are really read differently.
        var swapped = Path.Combine(_root, "swapped.npy");
        Npy.Write(swapped, NpyArray.FromFloat64(chw, size, size, 3));
        Assert.NotEqual(fromChw.Probability, Assert.Single(predictor.Predict([swapped])).Probability);

        // A shape that fits neither layout names the file and the layout the model reads.
        var wrong = Path.Combine(_root, "wrong.npy");
        Npy.Write(wrong, NpyArray.FromFloat64(new double[4 * size * size], 4, size, size));
        var error = Assert.Single(predictor.PredictEach([wrong])).Error;
        Assert.NotNull(error);
        Assert.Contains("wrong.npy", error, StringComparison.Ordinal);
        Assert.Contains("RGB", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Four_threads_sharing_one_predictor_give_the_answers_of_one_thread()
    {
        var data = SyntheticImages.Write(Path.Combine(_root, "data4", SignLanguageDigits.FolderName), ["a", "b", "c"], perClass: 8, seed: 7, size: 28, noise: 60);
        var run = Path.Combine(_root, "run4");
        Milestone1.Run(new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), OutputDirectory = run },
            new Milestone1Options { Epochs = 3, HiddenLayers = [8], EarlyStoppingPatience = 0 });
        var predictor = ImageModelPredictor.Load(run);
        var files = Directory.GetFiles(data, "*.bmp", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        var expected = predictor.Predict(files).Select(p => (p.Label, p.Probability)).ToArray();
        var results = new (string, float)[4][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            // Each thread walks the files in a different order, so concurrent calls score different images.
            var order = files.Select((f, i) => (f, i)).OrderBy(p => (p.i * (t + 3)) % files.Length).ToArray();
            var answers = new (string, float)[files.Length];
            for (int k = 0; k < order.Length; k++)
            {
                var p = Assert.Single(predictor.Predict([order[k].f]));
                answers[order[k].i] = (p.Label, p.Probability);
            }
            results[t] = answers;
        });
        Assert.All(results, r => Assert.Equal(expected, r));
    }
}
