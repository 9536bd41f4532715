using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Knn;
using MLPipelines.Tests.Onnx;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Knn;

namespace MLPipelines.Tests.Knn;

public class KnnTrainerTests
{
    private const int D = 12;

    private sealed class Row
    {
        [VectorType(D)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";

        public string Path { get; set; } = "";
    }

    private sealed class Scored
    {
        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }

    /// <summary>Three Gaussian clusters (names in an order that differs from first occurrence), plus overlap.</summary>
    private static List<Row> Clusters(int count, int seed, bool integers = false)
    {
        var random = new Random(seed);
        string[] names = ["zebra", "ant", "moose"];
        var rows = new List<Row>();
        for (int i = 0; i < count; i++)
        {
            int c = random.Next(3);
            var x = new float[D];
            for (int j = 0; j < D; j++)
            {
                double noise = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                x[j] = integers ? random.Next(-2, 3) + (j == c ? 2 : 0) : (float)(noise + (j == c ? 1.5 : 0));
            }
            rows.Add(new Row { Features = x, Label = names[c], Path = $"img/{names[c]}/{i:D4}.png" });
        }
        return rows;
    }

    private static (MLContext Ml, ITransformer Labels, IDataView Train, IDataView Test) Prepare(List<Row> train, List<Row> test)
    {
        var ml = new MLContext(seed: 1);
        var labels = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(train));
        return (ml, labels, labels.Transform(ml.Data.LoadFromEnumerable(train)), labels.Transform(ml.Data.LoadFromEnumerable(test)));
    }

    private static float[] Flatten(List<Row> rows) => rows.SelectMany(r => r.Features).ToArray();

    public static TheoryData<KnnMetric, KnnWeighting, int> Settings() => new()
    {
        { KnnMetric.Euclidean, KnnWeighting.Uniform, 5 },
        { KnnMetric.Euclidean, KnnWeighting.Distance, 3 },
        { KnnMetric.Cosine, KnnWeighting.Uniform, 10 },
        { KnnMetric.Cosine, KnnWeighting.Distance, 1 },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Onnx_scores_through_MLNet_match_the_engine(KnnMetric metric, KnnWeighting weighting, int k)
    {
        var trainRows = Clusters(240, 1);
        var testRows = Clusters(80, 2);
        var (ml, _, train, test) = Prepare(trainRows, testRows);
        var model = ml.MulticlassClassification.Trainers.Knn(k, metric, weighting).Fit(train);
        var scored = ml.Data.CreateEnumerable<Scored>(model.Transform(test), reuseRowObject: false).ToList();
        var engine = model.Index.Predict(Flatten(testRows), k, weighting);
        Assert.Equal(testRows.Count, scored.Count);
        for (int q = 0; q < scored.Count; q++)
        {
            Assert.Equal(3, scored[q].Score.Length);
            for (int c = 0; c < 3; c++)
                Assert.Equal(engine.Shares[(q * 3) + c], scored[q].Score[c], 1e-5f);
            Assert.Equal(engine.Labels[q] + 1, (int)scored[q].PredictedLabel);
        }
    }

    [Fact]
    public void Onnx_top_k_breaks_ties_like_the_engine()
    {
        // Integer features with few distinct values: many exactly equal distances, and exact arithmetic in both.
        var trainRows = Clusters(200, 3, integers: true);
        foreach (var copy in new[] { 150, 151, 199 })
            trainRows[copy].Features = (float[])trainRows[10].Features.Clone();
        var testRows = Clusters(60, 4, integers: true);
        testRows[0].Features = (float[])trainRows[10].Features.Clone();
        var (ml, _, train, test) = Prepare(trainRows, testRows);
        foreach (var weighting in new[] { KnnWeighting.Uniform, KnnWeighting.Distance })
        {
            var model = ml.MulticlassClassification.Trainers.Knn(8, KnnMetric.Euclidean, weighting).Fit(train);
            var queries = Flatten(testRows);
            var ort = OrtRunner.Run(model.OnnxModel, ("Features", queries, [testRows.Count, D]));
            var engine = model.Index.Search(queries, 8);
            Assert.Equal(engine.Indices.Select(i => (long)i), ort[KnnOnnxExporter.NeighborIndices].Longs!);
            Assert.Equal(engine.Distances, ort[KnnOnnxExporter.NeighborDistances].Floats!);
            Assert.Equal([10L, 150L, 151L, 199L], ort[KnnOnnxExporter.NeighborIndices].Longs!.Take(4));

            var scored = ml.Data.CreateEnumerable<Scored>(model.Transform(test), reuseRowObject: false).ToList();
            var predicted = model.Index.Predict(queries, 8, weighting);
            for (int q = 0; q < scored.Count; q++)
            {
                for (int c = 0; c < 3; c++)
                    Assert.Equal(predicted.Shares[(q * 3) + c], scored[q].Score[c], 1e-5f);
                Assert.Equal(predicted.Labels[q] + 1, (int)scored[q].PredictedLabel);
            }
        }
    }

    [Fact]
    public void Zip_round_trip_with_a_fresh_context_and_Evaluate()
    {
        var trainRows = Clusters(300, 5);
        var testRows = Clusters(100, 6);
        var (ml, labels, train, test) = Prepare(trainRows, testRows);
        var pipeline = ml.MulticlassClassification.Trainers.Knn(new KnnOptions { K = 7, Metric = KnnMetric.Cosine, Weighting = KnnWeighting.Distance })
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel"));
        var model = pipeline.Fit(train);
        var before = ml.Data.CreateEnumerable<Scored>(model.Transform(test), reuseRowObject: false).ToList();
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.MicroAccuracy > 0.6, $"accuracy {metrics.MicroAccuracy}");

        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"knn-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(labels.Append(model), ml.Data.LoadFromEnumerable(trainRows).Schema, path);
            using (var zip = System.IO.Compression.ZipFile.OpenRead(path))
            {
                // Only stock ML.NET loaders: no MLPipelines assembly is named anywhere in the zip.
                foreach (var entry in zip.Entries)
                {
                    using var reader = new StreamReader(entry.Open(), System.Text.Encoding.Latin1);
                    Assert.DoesNotContain("MLPipelines.Trainers", reader.ReadToEnd());
                }
            }
            var fresh = new MLContext(seed: 99);
            var loaded = fresh.Model.Load(path, out _);
            var reloaded = loaded.Transform(fresh.Data.LoadFromEnumerable(testRows));
            var after = fresh.Data.CreateEnumerable<Scored>(reloaded, reuseRowObject: false).ToList();
            for (int q = 0; q < before.Count; q++)
            {
                Assert.Equal(before[q].Score, after[q].Score);
                Assert.Equal(before[q].PredictedLabel, after[q].PredictedLabel);
            }
            var names = reloaded.GetColumn<string>("PredictedLabelValue").ToList();
            var classes = model.OfType<KnnModel>().Single().Classes;
            Assert.Equal(before.Select(s => classes[(int)s.PredictedLabel - 1]), names);
            var reloadedMetrics = fresh.MulticlassClassification.Evaluate(reloaded);
            Assert.Equal(metrics.MicroAccuracy, reloadedMetrics.MicroAccuracy);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Neighbors_return_training_rows_and_their_sources()
    {
        var trainRows = Clusters(150, 7);
        var (ml, _, train, _) = Prepare(trainRows, trainRows);
        var model = ml.MulticlassClassification.Trainers.Knn(new KnnOptions { K = 3, SourceColumnName = "Path" }).Fit(train);
        var hits = model.Neighbors(trainRows[42].Features, 4);
        Assert.Equal(4, hits.Count);
        Assert.Equal(0, hits[0].Rank);
        Assert.Equal(42, hits[0].ReferenceIndex);
        Assert.Equal(trainRows[42].Path, hits[0].SourceId);
        Assert.Equal(trainRows[42].Label, hits[0].LabelName);
        Assert.Equal(0f, hits[0].Distance, 1e-3f);
        for (int r = 1; r < 4; r++)
        {
            var row = trainRows[hits[r].ReferenceIndex];
            Assert.Equal(row.Path, hits[r].SourceId);
            Assert.Equal(row.Label, hits[r].LabelName);
            double exact = Math.Sqrt(row.Features.Zip(trainRows[42].Features, (a, b) => (double)(a - b) * (a - b)).Sum());
            Assert.Equal(exact, hits[r].Distance, 1e-4);
            Assert.True(hits[r].Distance >= hits[r - 1].Distance);
        }

        var batch = model.NeighborsBatch(Flatten(trainRows.GetRange(10, 3)), 1);
        Assert.Equal([10, 11, 12], batch.Select(b => b[0].ReferenceIndex));
    }

    [Fact]
    public void Saved_index_reads_back_with_the_same_answers()
    {
        foreach (var metric in new[] { KnnMetric.Euclidean, KnnMetric.Cosine })
        {
            var trainRows = Clusters(130, 8);
            var (ml, _, train, _) = Prepare(trainRows, trainRows);
            var model = ml.MulticlassClassification.Trainers.Knn(new KnnOptions { K = 3, Metric = metric, SourceColumnName = "Path" }).Fit(train);
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"knn-{Guid.NewGuid():N}.npz");
            try
            {
                model.SaveIndex(path);
                var loaded = KnnIndexFile.Load(path);
                Assert.Equal(metric, loaded.Metric);
                Assert.Equal(model.Index.Labels, loaded.Labels);
                Assert.Equal(model.Index.ClassNames, loaded.ClassNames);
                Assert.Equal(model.Index.SourceIds, loaded.SourceIds);
                var queries = Flatten(Clusters(20, 9));
                var a = model.Index.Search(queries, 5);
                var b = loaded.Search(queries, 5);
                Assert.Equal(a.Indices, b.Indices);
                for (int i = 0; i < a.Distances.Length; i++)
                    Assert.Equal(a.Distances[i], b.Distances[i], 1e-6f);
                Assert.Empty(Directory.GetFiles(System.IO.Path.GetDirectoryName(path)!, $".{System.IO.Path.GetFileName(path)}*.tmp"));
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    [Fact]
    public void Errors_name_the_option_or_column()
    {
        var ml = new MLContext(seed: 1);
        var k0 = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.Knn(k: 0));
        Assert.Equal("K", k0.ParamName);
        var metric = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.Knn(metric: (KnnMetric)7));
        Assert.Equal("Metric", metric.ParamName);
        var source = Assert.Throws<ArgumentException>(() => new KnnTrainer(new KnnOptions { SourceColumnName = " " }));
        Assert.Equal("SourceColumnName", source.ParamName);

        var rows = Clusters(6, 10);
        var (_, _, train, _) = Prepare(rows, rows);
        var big = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.Knn(k: 7).Fit(train));
        Assert.Equal("K", big.ParamName);
        Assert.Contains("K = 7", big.Message);
        var notKey = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.Knn().Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("MapValueToKey", notKey.Message);
        var missing = Assert.Throws<ArgumentException>(() => new KnnTrainer(new KnnOptions { SourceColumnName = "Nope" }).Fit(train));
        Assert.Contains("Nope", missing.Message);
    }
}
