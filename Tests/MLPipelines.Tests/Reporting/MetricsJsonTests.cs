using System.Text.Json;
using MLPipelines.Pipelines.Reporting;

namespace MLPipelines.Tests.Reporting;

public sealed class MetricsJsonTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlp-metrics-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static MetricsDocument Sample()
    {
        var binary = ClassificationReport.Compute(
            [0, 0, 0, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 0, 1, 0], ["cat", "dog"],
            new[] { 0.2f, 0.6f, 0.7f, 0.9f, 0.8f, 0.4f, 1.0f, 0.0f }.Select(p => new[] { p }).ToArray());
        var test = ClassificationReport.Compute([0, 1, 1, 0], [0, 1, 0, 0], ["cat", "dog"]);
        var doc = new MetricsDocument
        {
            Validation = SplitMetrics.FromReport(binary),
            Test = SplitMetrics.FromReport(test),
            TrainSeconds = 12.5,
            TrainSamplesPerSecond = 640.25,
        };
        doc.Extra["seed"] = 42;
        doc.Extra["model"] = "resnet18";
        return doc;
    }

    [Fact]
    public void Write_UsesExactSnakeCaseKeysInOrder()
    {
        string path = Path.Combine(_dir, "run", MetricsJson.FileName);
        MetricsJson.Write(path, Sample());

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(path));
        string[] top = json.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["validation", "test", "train_seconds", "train_samples_per_second", "seed", "model"], top);

        JsonElement validation = json.RootElement.GetProperty("validation");
        string[] keys = validation.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(
            ["accuracy", "precision", "recall", "f1", "loss", "macro_precision", "macro_recall", "macro_f1", "confusion", "classes", "count"],
            keys);

        // Binary: headline precision/recall/f1 are those of the positive class (classes[1] = "dog").
        Assert.Equal(0.625, validation.GetProperty("accuracy").GetDouble(), 1e-12);
        Assert.Equal(0.6, validation.GetProperty("precision").GetDouble(), 1e-12);
        Assert.Equal(0.75, validation.GetProperty("recall").GetDouble(), 1e-12);
        Assert.Equal(0.625, validation.GetProperty("macro_recall").GetDouble(), 1e-12);
        Assert.Equal(8, validation.GetProperty("count").GetInt32());
        Assert.Equal("[[2,2],[1,3]]", JsonSerializer.Serialize(validation.GetProperty("confusion")));
        Assert.Equal("[\"cat\",\"dog\"]", JsonSerializer.Serialize(validation.GetProperty("classes")));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("test").GetProperty("loss").ValueKind);
        Assert.Equal(12.5, json.RootElement.GetProperty("train_seconds").GetDouble());
        Assert.Contains("\n  \"validation\": {", File.ReadAllText(path)); // indented

        Assert.Equal([MetricsJson.FileName], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void RoundTrip_PreservesValuesAndExtras()
    {
        string path = Path.Combine(_dir, MetricsJson.FileName);
        MetricsDocument original = Sample();
        MetricsJson.Write(path, original);
        MetricsDocument read = MetricsJson.Read(path);

        Assert.Equal(original.Validation.Accuracy, read.Validation.Accuracy);
        Assert.Equal(original.Validation.F1, read.Validation.F1);
        Assert.Equal(original.Validation.Loss, read.Validation.Loss);
        Assert.Equal(original.Validation.MacroF1, read.Validation.MacroF1);
        Assert.Equal(original.Validation.Confusion, read.Validation.Confusion);
        Assert.Equal(new[,] { { 2, 2 }, { 1, 3 } }, read.Validation.ToConfusionMatrix());
        Assert.Equal(["cat", "dog"], read.Validation.Classes);
        Assert.Equal(4, read.Test!.Count);
        Assert.Null(read.Test.Loss);
        Assert.Equal(12.5, read.TrainSeconds);
        Assert.Equal(640.25, read.TrainSamplesPerSecond);
        Assert.Equal(42, read.Extra["seed"]!.GetValue<int>());
        Assert.Equal("resnet18", read.Extra["model"]!.GetValue<string>());

        // Re-serialising what was read gives the same text.
        Assert.Equal(MetricsJson.Serialize(original), MetricsJson.Serialize(read));
    }

    [Fact]
    public void TestSplitIsOptional_AndOverwriteLeavesNoTempFiles()
    {
        string path = Path.Combine(_dir, MetricsJson.FileName);
        MetricsJson.Write(path, Sample());
        MetricsDocument doc = Sample();
        doc.Test = null;
        doc.Extra.Clear();
        MetricsJson.Write(path, doc);

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(path));
        Assert.False(json.RootElement.TryGetProperty("test", out _));
        Assert.Null(MetricsJson.Read(path).Test);
        Assert.Single(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Multiclass_HeadlineMetricsAreMacro()
    {
        var r = ClassificationReport.Compute([0, 0, 1, 1, 2, 2], [0, 1, 1, 0, 0, 1], ["a", "b", "c"]);
        SplitMetrics m = SplitMetrics.FromReport(r);
        Assert.Equal(r.MacroPrecision, m.Precision);
        Assert.Equal(r.MacroRecall, m.Recall);
        Assert.Equal(r.MacroF1, m.F1);
        Assert.Equal(6, m.Count);
    }

    [Fact]
    public void Read_RejectsInvalidFiles()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, "{ not json");
        Assert.Throws<InvalidDataException>(() => MetricsJson.Read(path));
        File.WriteAllText(path, "[]");
        Assert.Throws<InvalidDataException>(() => MetricsJson.Read(path));
        Assert.Throws<FileNotFoundException>(() => MetricsJson.Read(Path.Combine(_dir, "missing.json")));
    }
}
