using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Testing;
using Xunit.Abstractions;

namespace MLPipelines.StockLoad.Tests;

/// <summary>
/// The persistence contract: zips written by MLPipelines' trainers (through the mlpipelines CLI, run as a
/// separate process) load and predict in this project, which references only Microsoft.ML,
/// Microsoft.ML.ImageAnalytics, Microsoft.ML.OnnxTransformer and Microsoft.ML.OnnxRuntime.
/// </summary>
public sealed class StockLoadTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlpipelines-stock-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Binary_model_zip_loads_with_stock_MLNet_and_reproduces_predictions()
    {
        var data = SyntheticImages.Write(Path.Combine(_root, "data", "sign-language-digits"), ["left", "right"], perClass: 30, seed: 5, noise: 120);
        var run = Path.Combine(_root, "binary");
        RunCli("m1", "--data", Path.GetDirectoryName(data)!, "--classes", "left,right", "--epochs", "4", "--seed", "3", "--out", run);

        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(Path.Combine(run, "model.zip"), out var inputSchema);
        Assert.NotNull(inputSchema);
        var expected = ReadPredictions(Path.Combine(run, "predictions.csv"));
        Assert.True(expected.Count >= 10, $"predictions.csv has {expected.Count} rows");

        var rows = expected.Select(p => new BinaryRow { ImagePath = p.Image, Label = p.True == "right" }).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(NumberDataViewType.Single, scored.Schema["Score"].Type);
        Assert.Equal(NumberDataViewType.Single, scored.Schema["Probability"].Type);
        Assert.Equal(BooleanDataViewType.Instance, scored.Schema["PredictedLabel"].Type);

        var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        var probability = scored.GetColumn<float>("Probability").ToArray();
        var score = scored.GetColumn<float>("Score").ToArray();
        // The class names, in a stock text column (a MapValue step saved in the zip).
        Assert.Equal(TextDataViewType.Instance, scored.Schema["PredictedClass"].Type);
        var names = scored.GetColumn<string>("PredictedClass").ToArray();
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Predicted, predicted[i] ? "right" : "left");
            Assert.Equal(expected[i].Predicted, names[i]);
            var p = predicted[i] ? probability[i] : 1 - probability[i];
            Assert.True(Math.Abs(p - expected[i].Probability) < 1e-5, $"row {i}: stock {p} vs trainer {expected[i].Probability}");
            Assert.True(Math.Abs(probability[i] - 1 / (1 + Math.Exp(-score[i]))) < 1e-5, $"row {i}: Probability is not sigmoid(Score)");
        }

        var metrics = ml.BinaryClassification.Evaluate(scored);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")));
        Assert.Equal(json.RootElement.GetProperty("validation").GetProperty("accuracy").GetDouble(), metrics.Accuracy, 9);
        Assert.True(metrics.Accuracy >= 0.7, $"accuracy {metrics.Accuracy} on a learnable synthetic task");
        Assert.True(probability.Max() - probability.Min() > 0.2, "probabilities should vary across rows for a meaningful comparison");
    }

    [Fact]
    public void Multiclass_model_zip_loads_with_stock_MLNet_evaluates_and_maps_labels_back()
    {
        string[] classes = ["left", "middle", "right"];
        var data = SyntheticImages.Write(Path.Combine(_root, "data", "sign-language-digits"), classes, perClass: 30, seed: 9, noise: 120);
        var run = Path.Combine(_root, "multiclass");
        RunCli("m1", "--data", Path.GetDirectoryName(data)!, "--classes", "all", "--epochs", "6", "--patience", "0", "--seed", "2", "--out", run);

        var zip = Path.Combine(run, "model.zip");
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(zip, out _);
        Assert.Equal(classes, ReadCardClasses(zip));
        var expected = ReadPredictions(Path.Combine(run, "predictions.csv"));
        var rows = expected.Select(p => new TextRow { ImagePath = p.Image, Label = p.True }).ToList();
        var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new KeyRow { Label = c }));
        var withKeys = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(ml.Data.LoadFromEnumerable(rows))
            .Transform(ml.Data.LoadFromEnumerable(rows));
        var scored = model.Transform(withKeys);
        var score = Assert.IsType<VectorDataViewType>(scored.Schema["Score"].Type);
        Assert.Equal(3, score.Size);
        Assert.IsType<KeyDataViewType>(scored.Schema["PredictedLabel"].Type);

        var metrics = ml.MulticlassClassification.Evaluate(scored);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")));
        Assert.Equal(json.RootElement.GetProperty("validation").GetProperty("accuracy").GetDouble(), metrics.MicroAccuracy, 9);

        var mapped = ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel").Fit(scored).Transform(scored);
        var names = mapped.GetColumn<string>("PredictedText").ToArray();
        var probabilities = mapped.GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Predicted, names[i]);
            var index = Array.IndexOf(classes, names[i]);
            Assert.True(Math.Abs(probabilities[i][index] - expected[i].Probability) < 1e-5, $"row {i}");
            Assert.True(Math.Abs(probabilities[i].Sum() - 1) < 1e-5, $"row {i}: probabilities sum to {probabilities[i].Sum()}");
        }
    }

    /// <summary>The best recipe adds per-image normalisation (a stock transform) to the chain: the zip must still load with plain ML.NET.</summary>
    [Theory]
    [InlineData("m2", "course")]
    [InlineData("m2", "best")]
    [InlineData("m1", "best")]
    public void Trained_model_zip_of_each_recipe_loads_with_stock_MLNet(string command, string recipe)
    {
        string[] classes = ["left", "middle", "right"];
        var data = SyntheticImages.Write(Path.Combine(_root, "data", "sign-language-digits"), classes, perClass: 24, seed: 4, noise: 60);
        var run = Path.Combine(_root, command + recipe);
        RunCli(command, "--data", Path.GetDirectoryName(data)!, "--classes", "all", "--epochs", "8", "--patience", "0", "--seed", "1",
            "--recipe", recipe, "--hidden", "32", "--out", run);

        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(Path.Combine(run, "model.zip"), out _);
        var expected = ReadPredictions(Path.Combine(run, "predictions.csv"));
        var rows = expected.Select(p => new TextRow { ImagePath = p.Image, Label = p.True }).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        var mapped = ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel").Fit(scored).Transform(scored);
        var names = mapped.GetColumn<string>("PredictedText").ToArray();
        var probabilities = mapped.GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Predicted, names[i]);
            Assert.True(Math.Abs(probabilities[i][Array.IndexOf(classes, names[i])] - expected[i].Probability) < 1e-5, $"row {i}");
        }
    }

    [SkippableFact]
    public void M3Knn_model_zip_embeddings_plus_knn_loads_with_stock_MLNet_and_reproduces_predictions()
    {
        var models = Path.GetDirectoryName(TestData.RequireModel("mobilenetv2-12-int8.onnx"))!;
        string[] classes = ["left", "middle", "right"];
        var data = SyntheticImages.Write(Path.Combine(_root, "data", "bars"), classes, perClass: 8, seed: 4);
        var run = Path.Combine(_root, "knn");
        RunCli("m3-knn", "--data", data, "--backbone", "mobilenetv2", "--models", models, "--k", "3", "--metric", "cosine", "--out", run);

        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(Path.Combine(run, "model.zip"), out _);
        var expected = ReadPredictions(Path.Combine(run, "predictions.csv"));
        var rows = expected.Select(p => new TextRow { ImagePath = p.Image, Label = p.True }).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(1280, Assert.IsType<VectorDataViewType>(scored.Schema["Features"].Type).Size);
        var mapped = ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel").Fit(scored).Transform(scored);
        Assert.Equal(expected.Select(e => e.Predicted), mapped.GetColumn<string>("PredictedText"));
    }

    [Fact]
    public void This_project_carries_no_MLPipelines_assembly()
    {
        var own = typeof(StockLoadTests).Assembly.GetName().Name;
        var shipped = Directory.GetFiles(AppContext.BaseDirectory, "*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n!.StartsWith("MLPipelines", StringComparison.OrdinalIgnoreCase) && n != own)
            .ToList();
        Assert.Empty(shipped);
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name!.StartsWith("MLPipelines.", StringComparison.Ordinal) && a.GetName().Name != own);
    }

    private void RunCli(params string[] args)
    {
        var cli = LocateCli();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("mlpipelines did not finish in 5 minutes.");
        }
        output.WriteLine(stdout.Result);
        output.WriteLine(stderr.Result);
        Assert.True(process.ExitCode == 0, $"mlpipelines {string.Join(' ', args)} exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
    }

    /// <summary>The CLI is built by this project's ReferenceOutputAssembly=false reference, in the same configuration.</summary>
    private static string LocateCli()
    {
        var baseDir = AppContext.BaseDirectory;
        var dir = new DirectoryInfo(baseDir);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLPipelines.sln")))
            dir = dir.Parent;
        Assert.NotNull(dir);
        var configuration = new DirectoryInfo(baseDir.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var cli = Path.Combine(dir.FullName, "Pipelines", "MLPipelines.Cli", "bin", configuration, "net10.0", "mlpipelines.dll");
        Assert.True(File.Exists(cli), $"CLI not built at {cli}");
        return cli;
    }

    private static string[] ReadCardClasses(string zipPath)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        using var stream = zip.GetEntry("MLPipelines/model-card.json")!.Open();
        using var card = JsonDocument.Parse(stream);
        return card.RootElement.GetProperty("classes").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static List<(string Image, string True, string Predicted, float Probability)> ReadPredictions(string path)
    {
        var result = new List<(string, string, string, float)>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var close = line.LastIndexOf('"');
            var image = line[1..close].Replace("\"\"", "\"", StringComparison.Ordinal);
            var parts = line[(close + 2)..].Split(',');
            result.Add((image, parts[0], parts[1], float.Parse(parts[2], CultureInfo.InvariantCulture)));
        }
        return result;
    }

    private sealed class BinaryRow
    {
        public string ImagePath { get; set; } = "";

        public bool Label { get; set; }
    }

    private sealed class KeyRow
    {
        public string Label { get; set; } = "";
    }

    private sealed class TextRow
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }
}
